/**
 * Partitioned routes: a route split by a hash of the row key into `count`
 * streams (feeds), each applied in seq order by one worker at a time while
 * the feeds run side by side. Relay and worker decide with these functions,
 * so they cannot disagree on which feed a change belongs to.
 */

/** Partitions a route may have at most: each is a feed with its own job, checkpoint and progress row. */
export const MAX_PARTITIONS = 64;

/** One partition of a route: `index` of `count`. */
export interface RoutePartition {
  index: number;
  count: number;
}

/**
 * The name of one ordered stream of a route: its progress row, its
 * checkpoint at the target and its job ids. An unpartitioned route's feed is
 * the route itself (so partitions change nothing for it); partition i of n
 * is `<route>.p<i>of<n>` (a route id never holds a '.'). The count is part
 * of the name because a name must always stand for the same keys: a
 * checkpoint saying "partition 0 applied up to here" would lie about the
 * keys partition 0 of another count holds.
 */
export function feedId(routeId: string, partition: RoutePartition | null | undefined): string {
  return partition && partition.count > 1 ? `${routeId}.p${partition.index}of${partition.count}` : routeId;
}

/** The partitions of a route cut into `count`, in order (one null for an unpartitioned route: its one feed is the route). */
export function partitionsOf(count: number): Array<RoutePartition | null> {
  if (count <= 1) return [null];
  return Array.from({ length: count }, (_, index) => ({ index, count }));
}

/** The feeds of a route with `count` partitions, in partition order. */
export function feedIdsOf(routeId: string, count: number): string[] {
  return partitionsOf(count).map((partition) => feedId(routeId, partition));
}

const FEED_OF_PARTITION = /^(.*)\.p(\d+)of(\d+)$/;

/** The route a feed belongs to (the feed id itself for an unpartitioned route). */
export function routeOfFeed(feed: string): string {
  return FEED_OF_PARTITION.exec(feed)?.[1] ?? feed;
}

/** The partition a feed stands for, or null for a whole route's feed. */
export function partitionOfFeed(feed: string): RoutePartition | null {
  const match = FEED_OF_PARTITION.exec(feed);
  return match ? { index: Number(match[2]), count: Number(match[3]) } : null;
}

/** What partitioning needs of an outbox row: its op, its key, and for an update the image before it. */
export interface KeyedChange {
  op: string;
  /** JSON object text: key column -> value (the key after the change; before it for a delete), as the capture trigger wrote it. */
  pk: string;
  /** JSON text of the row before the change (update, delete). */
  before: string | null;
}

/**
 * Whether the change belongs to partition `partition`: its key text hashes
 * there (keyPartition) — or it is an update that moves its row to another
 * key, which every partition gets, whole: each applies the old key's delete
 * and the new key's upsert with the change's seq, and the per-row seq guard
 * (invariant 4) makes every application after the first a no-op, so each
 * key's changes stay in seq order at the target. Key moves are rare, and this
 * needs no hash of the old key, which MariaDB could not compute alike.
 *
 * The outbox read filters with the same rule in SQL (CRC32 and
 * JSON_CONTAINS: outbox partitionCondition); this is the rule for rows
 * that SQL cannot see one by one (a copy chunk's).
 */
export function inPartition(change: KeyedChange, partition: RoutePartition): boolean {
  if (partition.count <= 1) return true;
  if (keyPartition(change.pk, partition.count) === partition.index) return true;
  return change.op === 'update' && change.before !== null && movesKey(change.pk, change.before);
}

/**
 * The partition of a key, from its text as the capture trigger wrote it (the
 * copier writes a key with the same expression): CRC32 of its UTF-8 bytes,
 * exactly MariaDB's CRC32(), modulo the count.
 */
export function keyPartition(pk: string, count: number): number {
  return crc32(Buffer.from(pk, 'utf8')) % count;
}

/** An update whose image before lacks one of its key's values: the row moved to another key. */
function movesKey(pk: string, before: string): boolean {
  const key = JSON.parse(pk) as Record<string, unknown>;
  const image = JSON.parse(before) as Record<string, unknown>;
  return Object.keys(key).some((name) => JSON.stringify(key[name]) !== JSON.stringify(image[name]));
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** CRC-32 (IEEE 802.3, as zlib and MariaDB's CRC32()), unsigned. */
export function crc32(bytes: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

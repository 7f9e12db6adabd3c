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

/** The feeds of a route with `count` partitions, in partition order. */
export function feedIdsOf(routeId: string, count: number): string[] {
  if (count <= 1) return [routeId];
  return Array.from({ length: count }, (_, index) => feedId(routeId, { index, count }));
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
  /** JSON object text: key column -> value (the key after the change; before it for a delete). */
  pk: string;
  /** JSON text of the row before the change (update, delete). */
  before: string | null;
}

/**
 * Whether the change belongs to partition `partition`: its key hashes there —
 * or, for an update that moves its row to another key, either key does. Such
 * an update goes to both partitions whole: each applies the old key's delete
 * and the new key's upsert, and the per-row seq guard (invariant 4) makes the
 * second application a no-op whichever comes first, so every key's changes
 * stay in seq order at the target.
 */
export function inPartition(change: KeyedChange, partition: RoutePartition): boolean {
  if (partition.count <= 1) return true;
  const key = JSON.parse(change.pk) as Record<string, unknown>;
  const names = Object.keys(key);
  if (keyPartition(names.map((name) => key[name]), partition.count) === partition.index) return true;
  if (change.op !== 'update' || change.before === null) return false;
  const before = JSON.parse(change.before) as Record<string, unknown>;
  return keyPartition(names.map((name) => before[name]), partition.count) === partition.index;
}

/**
 * The partition of a key given as its values in key-column order, in the
 * wire form the capture triggers write (the key and the images use the same
 * expressions, so a key read from either hashes the same): FNV-1a over their
 * JSON text.
 */
export function keyPartition(values: readonly unknown[], count: number): number {
  const text = JSON.stringify(values);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}

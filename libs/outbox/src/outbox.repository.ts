import { Knex } from 'knex';
import { COPY_CHUNK_PK, COPY_CHUNK_SEPARATOR, OUTBOX_TABLE, TS_MICROS } from '@tributary/db';
import { APPLIED_ORIGIN_PREFIX, copyOrigin, COPY_ORIGIN_PREFIX, Op, RoutePartition, RouteSelector, WireChange } from '@tributary/model';
import { CopyChunkError, expandCopyChunk } from './copy-chunk';

/** Every column, except a copy chunk's payload (its after image): see readRouteChanges. */
const HEADER_OF_CHUNKS = `seq, table_name, op, pk, before_image, IF(pk = '${COPY_CHUNK_PK}', NULL, after_image) AS after_image, origin, ts, schema_hash`;
const OUTBOX = '`' + OUTBOX_TABLE + '`';

interface OutboxRow {
  seq: number;
  table_name: string;
  op: Op;
  pk: string;
  before_image: string | null;
  after_image: string | null;
  origin: string | null;
  ts: number;
  schema_hash: string;
}

/**
 * The changes an outbox row stands for: one, or a copy chunk's rows (its
 * texts, key and full image per row, are joined by COPY_CHUNK_SEPARATOR, a
 * one-byte character; the one parameter is that separator).
 */
const CHANGES_IN_ROW = `IF(pk = '${COPY_CHUNK_PK}', (LENGTH(after_image) - LENGTH(REPLACE(after_image, ?, '')) + 1) DIV 2, 1)`;

/** What the relay needs of an outbox row: where it is, whose it is. Images stay in the outbox until a worker reads them. */
export interface OutboxHeader {
  seq: number;
  table: string;
  origin: string | null;
}

/** The relay's poll (readHeadersPolled). */
export interface PolledHeaders {
  /** Rows that appeared inside the holes. */
  filled: OutboxHeader[];
  /** Rows past `after`, at most `limit`. */
  fresh: OutboxHeader[];
  /**
   * When everything was read in one statement: its start on the source's
   * clock (µs since the epoch). Its snapshot was taken after that, so it
   * held every transaction committed before — all of each one's rows (InnoDB
   * makes a transaction's rows visible at once). Null when the holes took
   * statements of their own.
   */
  viewMicros: number | null;
}

/** Ranges per statement when reading rows inside many ranges, to keep the statement small. */
export const RANGES_PER_QUERY = 500;

/** Most seqs outside the holes a poll re-reads to cover more than RANGES_PER_QUERY holes in one statement. */
const MAX_REREAD_SEQS = 20_000;

/**
 * The rows routeWants keeps, as SQL (see routeRows): an application's write,
 * the route's own copy record, or any other origin but another route's copy
 * record and a change whose path (originPath) holds the route's target.
 */
const ROUTE_ORIGINS =
  `(origin IS NULL OR origin = ? OR (origin NOT LIKE '${COPY_ORIGIN_PREFIX}%' ` +
  `AND (origin NOT LIKE '${APPLIED_ORIGIN_PREFIX}%' OR FIND_IN_SET(?, SUBSTRING(origin, ${APPLIED_ORIGIN_PREFIX.length + 1})) = 0)))`;
/** A local-only route's rows: the application's own writes and its own copy records. */
const LOCAL_ROUTE_ORIGINS = '(origin IS NULL OR origin = ?)';

/**
 * A partition's rows (inPartition of @tributary/model, in SQL): its keys by
 * CRC32 of the key text, every key-moving update, and copy chunk headers
 * (their rows are told apart once read).
 */
const PARTITION_ROWS = `(pk = '${COPY_CHUNK_PK}' OR CRC32(pk) % ? = ? OR (op = 'update' AND NOT JSON_CONTAINS(before_image, pk)))`;

/** routeWants as SQL over (table, seq, origin), with its bindings. */
function routeRows(route: RouteSelector): { sql: string; bindings: Array<string | number> } {
  const table = routeTableRows(route);
  if (route.localOnly) return { sql: `${table.sql} AND ${LOCAL_ROUTE_ORIGINS}`, bindings: [...table.bindings, copyOrigin(route.routeId)] };
  return { sql: `${table.sql} AND ${ROUTE_ORIGINS}`, bindings: [...table.bindings, copyOrigin(route.routeId), route.targetId] };
}

/** isRouteTable as SQL: the table's name, or each name it had for its stretch of seqs. */
function routeTableRows(route: RouteSelector): { sql: string; bindings: Array<string | number> } {
  if (!route.names) return { sql: 'table_name = ?', bindings: [route.table] };
  const each = route.names.map((span) => (span.through === null ? '(table_name = ? AND seq > ?)' : '(table_name = ? AND seq > ? AND seq <= ?)'));
  return { sql: `(${each.join(' OR ')})`, bindings: route.names.flatMap((span) => (span.through === null ? [span.table, span.after] : [span.table, span.after, span.through])) };
}

/** The rows any of `routes` wants (routeRows of each, joined by OR). */
function anyRouteRows(routes: readonly RouteSelector[]): { sql: string; bindings: Array<string | number> } {
  const each = routes.map(routeRows);
  return { sql: `(${each.map((rows) => `(${rows.sql})`).join(' OR ')})`, bindings: each.flatMap((rows) => rows.bindings) };
}

/** What a locking probe of a range of missing seqs found. */
export type ProbeResult =
  | { kind: 'locked' } // some id in the range belongs to a transaction that is still open
  | { kind: 'settled'; present: number[] }; // nothing open: these ids committed, the rest rolled back (or are not yet written)

/**
 * Reads the outbox of one source. The knex pool must use READ COMMITTED
 * (openMysql does) so each read sees every row committed before it.
 */
export class OutboxRepository {
  constructor(private readonly knex: Knex) {}

  /** Headers of the rows past `seq`, in seq order: the relay's read, without the images. */
  async readHeadersAfter(seq: number, limit: number): Promise<OutboxHeader[]> {
    const [rows] = await this.knex.raw(`SELECT seq, table_name, origin FROM ${OUTBOX} WHERE seq > ? ORDER BY seq LIMIT ?`, [seq, limit]);
    return (rows as OutboxRow[]).map(toHeader);
  }

  /**
   * The relay's poll in one round trip: the headers of rows that appeared
   * inside `holes` (ids it saw missing), and of up to `limit` rows past
   * `after`, each in seq order, read in one statement (one snapshot).
   */
  async readHeadersPolled(after: number, limit: number, holes: ReadonlyArray<{ from: number; to: number }>, options: { oneView?: boolean } = {}): Promise<PolledHeaders> {
    // Many holes, and a caller that needs one snapshot (a transactional target's feed): still one statement,
    // over ranges that each cover several holes and the rows read between them, which are left out below —
    // unless that re-reads too much (thousands of rolled-back ids across a backlog). Otherwise two statements:
    // measured, the re-reading slowed a hole-heavy drain by a third.
    const covering = holes.length > RANGES_PER_QUERY && options.oneView ? coveringRanges(holes, RANGES_PER_QUERY) : holes;
    if (covering.length > RANGES_PER_QUERY || span(covering) - span(holes) > MAX_REREAD_SEQS) {
      return { filled: await this.readHeaderRanges(holes), fresh: await this.readHeadersAfter(after, limit), viewMicros: null };
    }
    const inHoles = covering.length > 0 ? inRanges(covering) : null;
    const [rows] = await this.knex.raw(
      `(SELECT seq, table_name, origin, 1 AS fresh, NULL AS at FROM ${OUTBOX} WHERE seq > ? ORDER BY seq LIMIT ?) ` +
        (inHoles ? `UNION ALL (SELECT seq, table_name, origin, 0 AS fresh, NULL AS at FROM ${OUTBOX} WHERE ${inHoles.where}) ` : '') +
        // The statement's start, which its snapshot comes after: see PolledHeaders.viewMicros.
        `UNION ALL (SELECT 0, NULL, NULL, 2 AS fresh, ${TS_MICROS} AS at) ORDER BY seq`,
      [after, limit, ...(inHoles?.bindings ?? [])],
    );
    const all = rows as Array<OutboxRow & { fresh: number; at: number | string | null }>;
    const clock = all.find((row) => Number(row.fresh) === 2);
    const inside = covering === holes ? () => true : (seq: number) => insideRanges(holes, seq);
    return {
      filled: all.filter((row) => Number(row.fresh) === 0 && inside(Number(row.seq))).map(toHeader),
      fresh: all.filter((row) => Number(row.fresh) === 1).map(toHeader),
      viewMicros: clock?.at === null || clock?.at === undefined ? null : Number(clock.at),
    };
  }

  /** Headers of the rows from `from` through `to`, at most `limit`, in seq order (a route catching up). */
  async readHeadersBetween(from: number, to: number, limit: number): Promise<OutboxHeader[]> {
    const [rows] = await this.knex.raw(`SELECT seq, table_name, origin FROM ${OUTBOX} WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?`, [from, to, limit]);
    return (rows as OutboxRow[]).map(toHeader);
  }

  /** Headers of the rows inside the given inclusive ranges (holes that may have filled), in seq order. */
  async readHeaderRanges(ranges: ReadonlyArray<{ from: number; to: number }>): Promise<OutboxHeader[]> {
    const found: OutboxHeader[] = [];
    for (let i = 0; i < ranges.length; i += RANGES_PER_QUERY) {
      const { where, bindings } = inRanges(ranges.slice(i, i + RANGES_PER_QUERY));
      const [rows] = await this.knex.raw(`SELECT seq, table_name, origin FROM ${OUTBOX} WHERE ${where} ORDER BY seq`, bindings);
      found.push(...(rows as OutboxRow[]).map(toHeader));
    }
    return found;
  }

  /**
   * A worker's read: at most `limit` rows of the route's table past
   * `afterSeq` inside the ascending ranges (at most RANGES_PER_QUERY of
   * them), in seq order. Echoes of the route's target and other routes' copy
   * records are left out here already (routeWants decides exactly; this only
   * saves reading them). A copy chunk comes back without its rows (its
   * header: `pk` COPY_CHUNK_PK, no images): readCopyChunk reads them, one
   * chunk at a time, so a read never holds more than one chunk's rows. With
   * `partition`, only that partition's rows (PARTITION_ROWS).
   */
  async readRouteChanges(
    route: RouteSelector | readonly RouteSelector[],
    ranges: ReadonlyArray<{ from: number; to: number }>,
    afterSeq: number,
    limit: number,
    partition: RoutePartition | null = null,
  ): Promise<WireChange[]> {
    if (ranges.length === 0) return [];
    if (ranges.length > RANGES_PER_QUERY) throw new Error(`at most ${RANGES_PER_QUERY} ranges per read`);
    const { where, bindings } = inRanges(ranges);
    const partitioned = partition !== null && partition.count > 1;
    // Several routes (a transactional target's): the rows any of them wants.
    const rowsOf = Array.isArray(route) ? anyRouteRows(route) : routeRows(route as RouteSelector);
    const [rows] = await this.knex.raw(
      `SELECT ${HEADER_OF_CHUNKS} FROM ${OUTBOX} WHERE seq > ? AND (${where}) AND ${rowsOf.sql}${partitioned ? ` AND ${PARTITION_ROWS}` : ''} ORDER BY seq LIMIT ?`,
      [afterSeq, ...bindings, ...rowsOf.bindings, ...(partitioned ? [partition.count, partition.index] : []), limit],
    );
    return (rows as OutboxRow[]).map(toWire);
  }

  /**
   * The rows of a copy chunk that readRouteChanges returned as a header.
   *
   * @throws CopyChunkError if its payload is not what the copier writes.
   */
  async readCopyChunk(chunk: WireChange): Promise<WireChange[]> {
    const [rows] = await this.knex.raw(`SELECT after_image FROM ${OUTBOX} WHERE seq = ?`, [chunk.seq]);
    const payload = (rows as Array<{ after_image: string | null }>)[0]?.after_image;
    if (payload === undefined || payload === null) throw new CopyChunkError(chunk.seq, 'its row has no payload (was it purged before the route applied it?)');
    return expandCopyChunk(chunk, payload);
  }

  /**
   * How many of the route's changes are past `afterSeq`, scanning at most
   * `cap + 1` outbox rows (a bounded scan however deep the backlog), a copy
   * chunk counted as the rows it carries; and the capture time (µs) of the
   * lowest-seq one — allocation order, a close enough stand-in for the
   * oldest — or null when there is none. Reading the chunks' payloads is
   * bounded too: the copier keeps at most SNAPSHOT_MAX_IN_FLIGHT_ROWS rows
   * ahead of the route.
   */
  async routeBacklog(route: RouteSelector, afterSeq: number, cap: number): Promise<{ count: number; oldestTs: number | null }> {
    const rowsOf = routeRows(route);
    const params = [afterSeq, ...rowsOf.bindings];
    const [counted] = await this.knex.raw(`SELECT COALESCE(SUM(n), 0) AS n FROM (SELECT ${CHANGES_IN_ROW} AS n FROM ${OUTBOX} WHERE seq > ? AND ${rowsOf.sql} LIMIT ?) AS backlog`, [
      COPY_CHUNK_SEPARATOR,
      ...params,
      cap + 1,
    ]);
    const count = Number((counted as Array<{ n: number | string }>)[0].n);
    if (count === 0) return { count, oldestTs: null };
    const [oldest] = await this.knex.raw(`SELECT ts FROM ${OUTBOX} WHERE seq > ? AND ${rowsOf.sql} ORDER BY seq LIMIT 1`, params);
    const ts = (oldest as Array<{ ts: number | string }>)[0]?.ts;
    return { count, oldestTs: ts === undefined ? null : Number(ts) };
  }

  /**
   * The exact hole test (DESIGN.md, Hazards): in READ COMMITTED a share-mode
   * NOWAIT read of missing ids fails at once while a transaction that took
   * one of them is open, returns committed rows, and returns nothing for ids
   * whose transaction rolled back. Locks are released at once by the commit.
   */
  async probe(from: number, to: number): Promise<ProbeResult> {
    try {
      return await this.knex.transaction(async (trx) => {
        const [rows] = await trx.raw(`SELECT seq FROM ${OUTBOX} WHERE seq BETWEEN ? AND ? LOCK IN SHARE MODE NOWAIT`, [from, to]);
        return { kind: 'settled' as const, present: (rows as Array<{ seq: number }>).map((row) => Number(row.seq)) };
      });
    } catch (error) {
      if (isLockUnavailable(error)) return { kind: 'locked' };
      throw error;
    }
  }

  async maxSeq(): Promise<number> {
    const [rows] = await this.knex.raw(`SELECT COALESCE(MAX(seq), 0) AS seq FROM ${OUTBOX}`);
    return Number((rows as Array<{ seq: number }>)[0].seq);
  }

  /**
   * Deletes at most `limit` rows at or below `seq` captured before `beforeTs`
   * (microseconds). The ids are picked by a plain read and deleted by primary
   * key: a range DELETE would scan up to the next row, which can be an open
   * transaction's uncommitted insert, and wait on it. Point deletes of
   * committed rows wait on nobody, and writers insert at the other end.
   */
  async purgeChunk(seq: number, beforeTs: number, limit: number): Promise<number> {
    const [rows] = await this.knex.raw(`SELECT seq FROM ${OUTBOX} WHERE seq <= ? AND ts < ? ORDER BY seq LIMIT ?`, [seq, beforeTs, limit]);
    const ids = (rows as Array<{ seq: number }>).map((row) => Number(row.seq));
    if (ids.length === 0) return 0;
    const [result] = await this.knex.raw(`DELETE FROM ${OUTBOX} WHERE seq IN (${ids.map(() => '?').join(',')})`, ids);
    return Number((result as { affectedRows: number }).affectedRows);
  }

  async count(): Promise<number> {
    const [rows] = await this.knex.raw(`SELECT COUNT(*) AS n FROM ${OUTBOX}`);
    return Number((rows as Array<{ n: number }>)[0].n);
  }
}

/** ER_LOCK_WAIT_TIMEOUT (1205) is what NOWAIT raises on MariaDB; MySQL 8 raises ER_LOCK_NOWAIT (3572). */
function isLockUnavailable(error: unknown): boolean {
  const errno = (error as { errno?: number }).errno;
  return errno === 1205 || errno === 3572;
}

/**
 * At most `max` ranges covering every one of the ascending, disjoint
 * `ranges`: the nearest neighbours (fewest seqs between them) are joined
 * first, so a read of the cover re-reads as few rows outside them as it can.
 */
export function coveringRanges(ranges: ReadonlyArray<{ from: number; to: number }>, max: number): Array<{ from: number; to: number }> {
  if (ranges.length <= max) return ranges.map(({ from, to }) => ({ from, to }));
  // The gaps after each range but the last, smallest first: the first (n - max) of them are closed.
  const gaps = ranges.slice(0, -1).map((range, i) => ({ i, size: ranges[i + 1].from - range.to }));
  gaps.sort((a, b) => a.size - b.size || a.i - b.i);
  const joined = new Set(gaps.slice(0, ranges.length - max).map((gap) => gap.i));
  const cover: Array<{ from: number; to: number }> = [];
  for (let i = 0; i < ranges.length; i++) {
    const last = cover[cover.length - 1];
    if (last && joined.has(i - 1)) last.to = ranges[i].to;
    else cover.push({ from: ranges[i].from, to: ranges[i].to });
  }
  return cover;
}

/** How many seqs the ranges hold. */
function span(ranges: ReadonlyArray<{ from: number; to: number }>): number {
  return ranges.reduce((sum, range) => sum + range.to - range.from + 1, 0);
}

/** Whether `seq` lies in one of the ascending, disjoint `ranges` (binary search). */
function insideRanges(ranges: ReadonlyArray<{ from: number; to: number }>, seq: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (seq < ranges[mid].from) hi = mid - 1;
    else if (seq > ranges[mid].to) lo = mid + 1;
    else return true;
  }
  return false;
}

function inRanges(ranges: ReadonlyArray<{ from: number; to: number }>): { where: string; bindings: number[] } {
  return { where: ranges.map(() => '(seq BETWEEN ? AND ?)').join(' OR '), bindings: ranges.flatMap((range) => [range.from, range.to]) };
}

function toHeader(row: OutboxRow): OutboxHeader {
  return { seq: Number(row.seq), table: row.table_name, origin: row.origin };
}

function toWire(row: OutboxRow): WireChange {
  return {
    seq: Number(row.seq),
    table: row.table_name,
    op: row.op,
    pk: row.pk,
    before: row.before_image,
    after: row.after_image,
    origin: row.origin,
    ts: Number(row.ts),
    schema: row.schema_hash,
  };
}

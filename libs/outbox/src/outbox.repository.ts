import { Knex } from 'knex';
import { OUTBOX_TABLE } from '@tributary/db';
import { Op, WireChange } from '@tributary/model';

const COLUMNS = 'seq, table_name, op, pk, before_image, after_image, origin, ts, schema_hash';
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

  async readAfter(seq: number, limit: number): Promise<WireChange[]> {
    const [rows] = await this.knex.raw(`SELECT ${COLUMNS} FROM ${OUTBOX} WHERE seq > ? ORDER BY seq LIMIT ?`, [seq, limit]);
    return (rows as OutboxRow[]).map(toWire);
  }

  /** Rows inside the given inclusive ranges (the relay's open holes), in seq order. */
  async readRanges(ranges: Array<{ from: number; to: number }>): Promise<WireChange[]> {
    if (ranges.length === 0) return [];
    const where = ranges.map(() => '(seq BETWEEN ? AND ?)').join(' OR ');
    const bindings = ranges.flatMap((range) => [range.from, range.to]);
    const [rows] = await this.knex.raw(`SELECT ${COLUMNS} FROM ${OUTBOX} WHERE ${where} ORDER BY seq`, bindings);
    return (rows as OutboxRow[]).map(toWire);
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

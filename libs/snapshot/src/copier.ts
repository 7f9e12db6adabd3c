import { Knex } from 'knex';
import { OUTBOX_COLUMNS, TS_MICROS } from '@tributary/capture';
import { OUTBOX_TABLE } from '@tributary/db';
import { copyOrigin, decodeKey, encodeKeyImage, keyText, quoteMysql, Row, TableSchema } from '@tributary/model';
import { ImageRow, RowCondition, SourceTable } from './source-table';

/** A chunk or key set could not be locked in time (a deadlock or a lock wait timeout): try again, maybe smaller. */
export class CopyContendedError extends Error {
  constructor(cause: unknown) {
    super(`source rows are locked by other transactions: ${(cause as Error).message}`);
    this.name = 'CopyContendedError';
  }
}

export interface ChunkCopy {
  /** Copy records written (rows of the chunk that the pushed-down filter kept). */
  copied: number;
  /** Where the next chunk starts; null when this chunk reached the end of the table. */
  next: Row | null;
  /** The highest outbox seq written, or null if nothing was. */
  lastSeq: number | null;
}

export interface KeysCopy {
  /** Keys the source has: their current rows were written as copy records. */
  copied: number;
  /** Keys the source does not have: written as copy deletes. */
  deleted: number;
  lastSeq: number | null;
}

/** How long a copy waits for a row an application transaction holds, before giving up and retrying later. */
const LOCK_WAIT_SECONDS = 3;
/** Copy records per INSERT statement, kept well under max_allowed_packet. */
const INSERT_BYTES = 4 * 1024 * 1024;

/**
 * Writes copy records — the current source rows, for one route — into the
 * outbox, so they reach the target through the relay and the worker exactly
 * like captured changes (filter, mapping, per-row seq guard, checkpoint,
 * dead letters).
 *
 * Exactness comes from where a copy record's seq falls. The rows are read
 * with a share lock and the records inserted in the same short transaction:
 * a writer that changed a row before is committed (the locking read waited
 * for it), so its change has a smaller seq; a writer that changes it after
 * waits for this commit, so its change gets a larger seq. The copy record
 * sits exactly between them in the row's own order, and the target's seq
 * guard puts every row right whatever order copies and changes arrive in.
 */
export class SourceCopier {
  constructor(
    private readonly db: Knex,
    private readonly routeId: string,
  ) {}

  /**
   * Copies the rows after `after` up to `size` rows on (plain read for the
   * chunk's end, then one locking read of just that range: locks are held on
   * at most `size` rows for a few milliseconds, never on the table).
   */
  async copyChunk(schema: TableSchema, after: Row | null, size: number, condition: RowCondition): Promise<ChunkCopy> {
    const table = new SourceTable(schema);
    const upTo = await table.chunkEnd(this.db, after, size);
    // READ COMMITTED (the pool's level): the locking read waits for writers of existing rows, takes no gap locks.
    const result = await this.contended(() =>
      this.db.transaction(async (trx) => {
        await trx.raw('SET SESSION innodb_lock_wait_timeout = ?', [LOCK_WAIT_SECONDS]);
        const rows = await table.readRange(trx, { after, upTo }, condition, 'share');
        const lastSeq = await this.insert(trx, rows.map((row) => record(schema, 'insert', row.pk, row.image, this.routeId)));
        return { copied: rows.length, lastSeq };
      }),
    );
    return { ...result, next: upTo };
  }

  /**
   * Copies exactly these keys (a repair): present rows as copy records, absent
   * keys as copy deletes. REPEATABLE READ so the locking read also locks the
   * gap of an absent key: an application insert of that key waits, and its
   * change follows the delete instead of being undone by it.
   */
  async copyKeys(schema: TableSchema, keys: readonly Row[]): Promise<KeysCopy> {
    const table = new SourceTable(schema);
    return this.contended(() =>
      this.db.transaction(
        async (trx) => {
          await trx.raw('SET SESSION innodb_lock_wait_timeout = ?', [LOCK_WAIT_SECONDS]);
          const rows: ImageRow[] = await table.readKeys(trx, keys, 'share');
          const present = new Set(rows.map((row) => keyText(schema.key, decodeKey(schema, row.pk))));
          const absent = uniqueKeys(schema, keys).filter((key) => !present.has(keyText(schema.key, key)));
          const records = [
            ...rows.map((row) => record(schema, 'insert', row.pk, row.image, this.routeId)),
            ...absent.map((key) => record(schema, 'delete', encodeKeyImage(schema, key), null, this.routeId)),
          ];
          const lastSeq = await this.insert(trx, records);
          return { copied: rows.length, deleted: absent.length, lastSeq };
        },
        { isolationLevel: 'repeatable read' },
      ),
    );
  }

  private async insert(trx: Knex.Transaction, records: unknown[][]): Promise<number | null> {
    if (records.length === 0) return null;
    let lastSeq = 0;
    for (const batch of byteBatches(records)) {
      const placeholders = batch.map(() => `(?, ?, ?, NULL, ?, ?, ${TS_MICROS}, ?)`).join(', ');
      const [result] = await trx.raw(
        `INSERT INTO ${quoteMysql(OUTBOX_TABLE)} (${OUTBOX_COLUMNS.map(quoteMysql).join(', ')}) VALUES ${placeholders}`,
        batch.flat() as Knex.RawBinding[],
      );
      // The ids of one multi-row INSERT can interleave with other writers' (innodb_autoinc_lock_mode = 2): ask.
      const first = Number((result as { insertId: number }).insertId);
      const [rows] = await trx.raw(`SELECT MAX(seq) AS seq FROM ${quoteMysql(OUTBOX_TABLE)} WHERE seq >= ? AND origin = ?`, [
        first,
        copyOrigin(this.routeId),
      ]);
      lastSeq = Math.max(lastSeq, Number((rows as Array<{ seq: number }>)[0].seq));
    }
    return lastSeq;
  }

  private async contended<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const errno = (error as { errno?: number }).errno;
      // 1213 deadlock (this transaction was chosen to give way), 1205 lock wait timeout.
      if (errno === 1213 || errno === 1205) throw new CopyContendedError(error);
      throw error;
    }
  }
}

/** One outbox row's values, in OUTBOX_COLUMNS order minus before_image and ts (written as NULL and TS_MICROS). */
function record(schema: TableSchema, op: 'insert' | 'delete', pk: string, after: string | null, routeId: string): unknown[] {
  return [schema.table, op, pk, after, copyOrigin(routeId), schema.hash];
}

function uniqueKeys(schema: TableSchema, keys: readonly Row[]): Row[] {
  const seen = new Map<string, Row>();
  for (const key of keys) seen.set(keyText(schema.key, key), key);
  return [...seen.values()];
}

function* byteBatches(records: unknown[][]): Generator<unknown[][]> {
  let batch: unknown[][] = [];
  let bytes = 0;
  for (const values of records) {
    const size = values.reduce<number>((sum, value) => sum + (typeof value === 'string' ? value.length : 8), 0);
    if (batch.length > 0 && bytes + size > INSERT_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(values);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

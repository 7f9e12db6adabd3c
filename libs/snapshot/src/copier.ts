import { Knex } from 'knex';
import { COPY_CHUNK_SEPARATOR } from '@tributary/db';
import { copyOrigin, decodeKey, encodeKeyImage, keyText, Row, TableSchema } from '@tributary/model';
import { CopyRecord, insertCopyChunk, insertCopyRecords } from '@tributary/outbox';
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
/** Most text one copy chunk record may take; a bigger chunk goes through this process, row by row. */
const SERVER_LIST_BYTES = 16 * 1024 * 1024;

/**
 * Writes copy records — the current source rows, for one route — into the
 * outbox, so they reach the target through the relay and the worker exactly
 * like captured changes (filter, mapping, per-row seq guard, checkpoint,
 * dead letters): a chunk of an initial copy or re-sync as one copy chunk
 * record, a repair's keys (and a chunk too big for one record) one record
 * per row.
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
    /** Most text one copy chunk record may take (see copyInServer); tests make it small. */
    private readonly serverListBytes = SERVER_LIST_BYTES,
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
        const inServer = await this.copyInServer(trx, table, schema, { after, upTo }, condition);
        if (inServer) return inServer;
        // Too big for one server-side statement: the rows (already locked) pass through this process.
        const rows = await table.readRange(trx, { after, upTo }, condition, 'share');
        const lastSeq = await insertCopyRecords(trx, copyOrigin(this.routeId), rows.map((row) => record(schema, 'insert', row.pk, row.image)));
        return { copied: rows.length, lastSeq };
      }),
    );
    return { ...result, next: upTo };
  }

  /**
   * The chunk written as one copy chunk record (COPY_CHUNK_PK in
   * @tributary/db), built by the source server itself: one locking read
   * aggregates the rows' key and full images into a user variable, and a
   * single-row INSERT writes it (insertCopyChunk: writers never wait for
   * it). The rows never travel to this process and back, and the outbox gets
   * one row per chunk instead of one per row: most of what a copy cost the
   * source, the relay and the worker. Null when the images would not fit in one value
   * (group_concat_max_len, kept under max_allowed_packet so a worker can
   * read it back): the caller copies the chunk row by row through this
   * process instead.
   */
  private async copyInServer(
    trx: Knex.Transaction,
    table: SourceTable,
    schema: TableSchema,
    range: { after: Row | null; upTo: Row | null },
    condition: RowCondition,
  ): Promise<{ copied: number; lastSeq: number | null } | null> {
    await trx.raw('SET SESSION group_concat_max_len = LEAST(@@max_allowed_packet DIV 2, ?)', [this.serverListBytes]);
    const pair = (pk: string, image: string) => ({ sql: `CONCAT(${pk}, ?, ${image})`, bindings: [COPY_CHUNK_SEPARATOR] });
    const aggregate = table.aggregateRange(range, condition, pair, {
      count: '@tributary_copy_rows',
      list: '@tributary_copy_values',
      separator: COPY_CHUNK_SEPARATOR,
    });
    try {
      await trx.raw(aggregate.sql, aggregate.bindings as Knex.RawBinding[]);
      const [[state]] = (await trx.raw(
        'SELECT @tributary_copy_rows AS n, LENGTH(@tributary_copy_values) >= @@group_concat_max_len AS truncated',
      )) as [Array<{ n: number; truncated: number | null }>];
      const copied = Number(state.n);
      if (copied === 0) return { copied: 0, lastSeq: null };
      if (Number(state.truncated) === 1) return null;
      const lastSeq = await insertCopyChunk(trx, {
        table: schema.table,
        origin: copyOrigin(this.routeId),
        schemaHash: schema.hash,
        imagesVariable: '@tributary_copy_values',
      });
      return { copied, lastSeq };
    } finally {
      // A pooled connection must not keep a chunk's worth of text alive. Never masks the error that
      // got here (a deadlock must still read as one: CopyContendedError).
      await trx.raw('SET @tributary_copy_values = NULL').catch(() => undefined);
    }
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
            ...rows.map((row) => record(schema, 'insert', row.pk, row.image)),
            ...absent.map((key) => record(schema, 'delete', encodeKeyImage(schema, key), null)),
          ];
          const lastSeq = await insertCopyRecords(trx, copyOrigin(this.routeId), records);
          return { copied: rows.length, deleted: absent.length, lastSeq };
        },
        { isolationLevel: 'repeatable read' },
      ),
    );
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

function record(schema: TableSchema, op: 'insert' | 'delete', pk: string, after: string | null): CopyRecord {
  return { table: schema.table, op, pk, after, schemaHash: schema.hash };
}

function uniqueKeys(schema: TableSchema, keys: readonly Row[]): Row[] {
  const seen = new Map<string, Row>();
  for (const key of keys) seen.set(keyText(schema.key, key), key);
  return [...seen.values()];
}

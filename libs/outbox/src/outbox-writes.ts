import { Knex } from 'knex';
import { CONFIG_MARKER_TABLE, COPY_CHUNK_PK, OUTBOX_COLUMNS, OUTBOX_TABLE, TS_MICROS } from '@tributary/db';
import { encodeKeyImage, encodeValue, quoteMysql, Row, TableSchema } from '@tributary/model';

/**
 * Every write of the outbox goes through here: the capture triggers (as SQL
 * text in their bodies) and the copier (initial copies, re-syncs, repairs).
 * The row's shape is db/outbox/shape.ts; `ts` is always the server's
 * TS_MICROS, whoever writes.
 */

/** One outbox row as a writer gives it: each field a SQL expression (a trigger's NEW/OLD image, a placeholder, NULL). */
export interface OutboxRowSql {
  table: string;
  op: string;
  pk: string;
  before: string;
  after: string;
  origin: string;
  schemaHash: string;
}

/** `INSERT INTO` the outbox, one tuple per row, the columns in OUTBOX_COLUMNS order. */
export function outboxInsertSql(rows: readonly OutboxRowSql[]): string {
  const tuple = (row: OutboxRowSql) => `(${[row.table, row.op, row.pk, row.before, row.after, row.origin, TS_MICROS, row.schemaHash].join(', ')})`;
  return `INSERT INTO ${quoteMysql(OUTBOX_TABLE)} (${OUTBOX_COLUMNS.map(quoteMysql).join(', ')}) VALUES ${rows.map(tuple).join(', ')}`;
}

/** `INSERT INTO` the outbox of a configuration marker (CONFIG_MARKER_TABLE): no table's row, no images. */
export function configMarkerSql(): string {
  return outboxInsertSql([{ table: `'${CONFIG_MARKER_TABLE}'`, op: "'update'", pk: "'{}'", before: 'NULL', after: 'NULL', origin: 'NULL', schemaHash: "''" }]);
}

/** `INSERT INTO` the outbox `SELECT` one row per row of `from` (a FROM … WHERE … clause): the fields are expressions over its tables. */
export function outboxInsertSelectSql(row: OutboxRowSql, from: string): string {
  const fields = [row.table, row.op, row.pk, row.before, row.after, row.origin, TS_MICROS, row.schemaHash];
  return `INSERT INTO ${quoteMysql(OUTBOX_TABLE)} (${OUTBOX_COLUMNS.map(quoteMysql).join(', ')}) SELECT ${fields.join(', ')} ${from}`;
}

/** A copy record: "the source row of this key is now this" (insert), or "has no row of this key" (delete). */
export interface CopyRecord {
  table: string;
  op: 'insert' | 'delete';
  /** The key image. */
  pk: string;
  /** The full image; null for a delete. */
  after: string | null;
  schemaHash: string;
}

/** Copy records per INSERT statement, kept well under max_allowed_packet. */
const INSERT_BYTES = 4 * 1024 * 1024;

const COPY_RECORD_SQL: OutboxRowSql = { table: '?', op: '?', pk: '?', before: 'NULL', after: '?', origin: '?', schemaHash: '?' };

/**
 * Writes copy records under `origin` (a route's copyOrigin) in as few
 * statements as their size allows; returns the highest seq written, or null
 * for none.
 */
export async function insertCopyRecords(trx: Knex.Transaction, origin: string, records: readonly CopyRecord[]): Promise<number | null> {
  if (records.length === 0) return null;
  let lastSeq = 0;
  for (const batch of byteBatches(records)) {
    const bindings = batch.flatMap((record) => [record.table, record.op, record.pk, record.after, origin, record.schemaHash]);
    const [result] = await trx.raw(outboxInsertSql(batch.map(() => COPY_RECORD_SQL)), bindings);
    lastSeq = Math.max(lastSeq, await lastSeqFrom(trx, origin, Number((result as { insertId: number }).insertId)));
  }
  return lastSeq;
}

/** A delete Tributary applied that found no row to delete, to be passed on from this database as its triggers would have. */
export interface UnseenDelete {
  /** The row's last image as the deleter saw it (the table's columns, decoded). */
  before: Row;
  /** Where the change has been (forwardedOrigin). */
  origin: string;
}

/**
 * The change records of deletes that deleted nothing here (the row was
 * already gone) but must still travel on from this database, which captures
 * `schema`'s table: in a ring or a star the next database may still hold the
 * row. Written as the capture triggers would have written them, had there
 * been a row.
 */
export function unseenDeletesSql(schema: TableSchema, deletes: readonly UnseenDelete[]): { sql: string; params: Array<string | null> } {
  const row: OutboxRowSql = { table: '?', op: "'delete'", pk: '?', before: '?', after: 'NULL', origin: '?', schemaHash: '?' };
  const image = (before: Row) => JSON.stringify(Object.fromEntries(schema.columns.map((column) => [column.name, encodeValue(column, before[column.name] ?? null)])));
  return {
    sql: outboxInsertSql(deletes.map(() => row)),
    params: deletes.flatMap((d) => [schema.table, encodeKeyImage(schema, d.before), image(d.before), d.origin, schema.hash]),
  };
}

/** A user variable's name, as a copy chunk's images may be held in one. */
const USER_VARIABLE = /^@[a-z_]+$/;

/**
 * Writes one copy chunk record (COPY_CHUNK_PK) whose images the source
 * server has already put into the session's user variable `imagesVariable`:
 * a single-row INSERT, which takes no table-level AUTO-INC lock (an
 * INSERT … SELECT would, under innodb_autoinc_lock_mode=1), so writers never
 * wait for it. Returns its seq.
 */
export async function insertCopyChunk(
  trx: Knex.Transaction,
  chunk: { table: string; origin: string; schemaHash: string; imagesVariable: string },
): Promise<number> {
  if (!USER_VARIABLE.test(chunk.imagesVariable)) throw new Error(`not a user variable: ${chunk.imagesVariable}`);
  const [result] = await trx.raw(outboxInsertSql([{ ...COPY_RECORD_SQL, op: "'insert'", after: chunk.imagesVariable }]), [
    chunk.table,
    COPY_CHUNK_PK,
    chunk.origin,
    chunk.schemaHash,
  ]);
  return Number((result as { insertId: number }).insertId);
}

/**
 * The highest seq of `origin`'s rows from `first` (the first id of this
 * session's last INSERT) on. The ids of one multi-row INSERT can interleave
 * with other writers' (innodb_autoinc_lock_mode = 2): ask.
 */
async function lastSeqFrom(trx: Knex.Transaction, origin: string, first: number): Promise<number> {
  const [rows] = await trx.raw(`SELECT MAX(seq) AS seq FROM ${quoteMysql(OUTBOX_TABLE)} WHERE seq >= ? AND origin = ?`, [first, origin]);
  return Number((rows as Array<{ seq: number }>)[0].seq);
}

function* byteBatches(records: readonly CopyRecord[]): Generator<CopyRecord[]> {
  let batch: CopyRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = record.table.length + record.pk.length + (record.after?.length ?? 0) + record.schemaHash.length + 16;
    if (batch.length > 0 && bytes + size > INSERT_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

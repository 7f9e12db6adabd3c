import { Knex } from 'knex';
import { OUTBOX_TABLE, reservedTableReason } from '@tributary/db';
import { configMarkerSql } from '@tributary/outbox';
import { TableSchema, quoteMysql, validateIdentifier } from '@tributary/model';
import { readCascadeGraph } from './cascade-triggers';
import { CaptureError } from './errors';
import { replaceTriggers } from './install';
import { readSchema } from './introspect';
import { triggerNames } from './names';
import { DEFAULT_LOCK_WAIT_SECONDS, errorMessage, withDedicatedSession, withTablesLocked } from './session';
import { Query, queryOn } from './sql';
import { generateTriggers } from './triggers';

export interface RenameOptions {
  /**
   * Records the rename (in the control schema) while the table and the
   * outbox are locked: `schema` is the table's under its new name, and the
   * table's rows in the outbox up to `at` carry its old name, every later
   * one the new. Nothing has changed at the source yet: throwing leaves it so.
   */
  record: (schema: TableSchema, at: number) => Promise<void>;
  /** Undoes what `record` recorded, when the rename then fails at the source (it is left as it was). */
  undo: (at: number) => Promise<void>;
  /** How long to wait for open transactions on the table before failing, nothing changed (seconds). Default 10. */
  lockWaitSeconds?: number;
}

/**
 * Renames a captured table so its changes flow on without a copy (issue
 * #17). On a dedicated session, under `LOCK TABLES <table> WRITE, <outbox>
 * WRITE` (every write to the table before it is in the outbox, none runs
 * during it):
 *
 * 1. `at` = the outbox's last seq: the table's last row under its old name;
 * 2. `record` (the control schema learns the new name before any row has it);
 * 3. the capture triggers regenerated on the table to write its new name
 *    (named for the new name: triggers move with a renamed table);
 * 4. a configuration marker (CONFIG_MARKER_TABLE): a relay that meets it
 *    reads its routes again before it hands out the rows after it;
 * 5. `ALTER TABLE <table> RENAME TO <to>`. MariaDB drops the table's lock
 *    here (the outbox stays locked), and writers of the new name run under
 *    the new triggers: their rows follow the marker.
 *
 * A failure in 3–5 puts the old triggers back and calls `undo`. Not carried
 * yet: a table in a cascading foreign key with another captured table (the
 * cascade triggers name both tables) is refused.
 *
 * @returns the table's schema under its new name.
 * @throws CaptureError if a name is refused, a table already has the new name, the table cannot be locked,
 *   or the rename failed (the source and, through `undo`, the record are as they were).
 */
export async function renameCapturedTable(knex: Knex, from: string, to: string, opts: RenameOptions): Promise<TableSchema> {
  await checkRenamable(knex, from, to);
  return withDedicatedSession(knex, opts.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS, async (query) => {
    return withTablesLocked(query, [from, OUTBOX_TABLE], async () => {
      const schema = await readSchema(query, from);
      const renamed: TableSchema = { ...schema, table: to };
      const at = await lastOutboxSeq(query);
      await opts.record(renamed, at);
      try {
        const triggers = generateTriggers(renamed, from);
        for (const trigger of triggers) await query(trigger.sql);
        for (const name of Object.values(triggerNames(from))) await query(`DROP TRIGGER IF EXISTS ${quoteMysql(name)}`);
        await query(configMarkerSql());
        await query(`ALTER TABLE ${quoteMysql(from)} RENAME TO ${quoteMysql(to)}`);
      } catch (error) {
        let triggersBack: unknown = null;
        await putBack(query, schema, to, error).catch((failure: unknown) => (triggersBack = failure));
        await opts.undo(at);
        if (triggersBack) throw triggersBack;
        throw new CaptureError(`renaming ${from} to ${to} failed, the table and its capture are as they were: ${errorMessage(error)}`, { cause: error });
      }
      return renamed;
    });
  });
}

/**
 * Adopts a rename of a captured table made behind Tributary's back (`RENAME
 * TABLE from TO to`): its triggers moved with it and still write its old
 * name, so nothing was lost, but nothing that reads the table by name
 * (copies, verify, drift checks) finds it. The same steps as
 * renameCapturedTable, on the table under its new name, without the
 * rename: `at` is the outbox's last seq under the locks (every row under the
 * old name is at or before it), `record`, triggers that write the new name,
 * the marker.
 *
 * @throws CaptureError if `from`'s capture triggers are not on `to`, or the table cannot be locked or captured.
 */
export async function adoptTableRename(knex: Knex, from: string, to: string, opts: RenameOptions): Promise<TableSchema> {
  validateIdentifier(from, 'table');
  validateIdentifier(to, 'table');
  return withDedicatedSession(knex, opts.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS, async (query) => {
    if ((await triggersMovedTo(query, from)) !== to) throw new CaptureError(`the capture triggers of ${from} are not on a table ${to}`);
    return withTablesLocked(query, [to, OUTBOX_TABLE], async () => {
      const schema = await readSchema(query, to);
      const at = await lastOutboxSeq(query);
      await opts.record(schema, at);
      try {
        for (const trigger of generateTriggers(schema)) await query(trigger.sql);
        for (const name of Object.values(triggerNames(from))) await query(`DROP TRIGGER IF EXISTS ${quoteMysql(name)}`);
        await query(configMarkerSql());
      } catch (error) {
        await opts.undo(at);
        throw new CaptureError(
          `adopting the rename of ${from} to ${to} failed: ${errorMessage(error)}. Writes to ${to} may be captured under either name: adopt it again`,
          { cause: error },
        );
      }
      return schema;
    });
  });
}

/**
 * The table a captured table was renamed to behind Tributary's back: `table`
 * is gone and its capture triggers (which a RENAME TABLE moves along) are on
 * another table. Null when `table` exists or its triggers are gone.
 */
export async function renamedBehindBack(knex: Knex, table: string): Promise<string | null> {
  validateIdentifier(table, 'table');
  const query = queryOn(knex);
  const [exists] = await query<{ n: number }>('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [table]);
  if (Number(exists.n) > 0) return null;
  return triggersMovedTo(query, table);
}

/** The table the capture triggers named for `table` are on, if they are on another one. */
async function triggersMovedTo(query: Query, table: string): Promise<string | null> {
  const names = Object.values(triggerNames(table));
  const rows = await query<{ name: string; on: string }>(
    `SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS \`on\` FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME IN (${names.map(() => '?').join(', ')})`,
    names,
  );
  const on = rows.find((row) => names.includes(row.name) && row.on !== table)?.on;
  return on ?? null;
}

/**
 * Whether renameCapturedTable would take the rename, without changing or
 * locking anything (for a dry run).
 *
 * @throws CaptureError saying why not.
 */
export async function checkRenamable(knex: Knex, from: string, to: string): Promise<void> {
  validateIdentifier(from, 'table');
  validateIdentifier(to, 'table');
  const reserved = reservedTableReason(to);
  if (reserved) throw new CaptureError(`${from} cannot be renamed to ${to}: ${reserved}`);
  await refuseUnlessRenamable(queryOn(knex), from, to);
}

/**
 * The outbox's last seq. Under the table's and the outbox's write locks no
 * transaction that wrote the table is open and none can start, so every row
 * the table wrote under its old name is at or before it.
 */
async function lastOutboxSeq(query: Query): Promise<number> {
  const [last] = await query<{ seq: number | string | null }>(`SELECT MAX(seq) AS seq FROM ${quoteMysql(OUTBOX_TABLE)}`);
  return Number(last?.seq ?? 0);
}

/** Refuses, before anything is locked, a rename capture cannot carry. */
async function refuseUnlessRenamable(query: Query, from: string, to: string): Promise<void> {
  const existing = await query<{ name: string }>('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?)', [from, to]);
  if (!existing.some((row) => row.name === from)) throw new CaptureError(`table ${from} does not exist`);
  if (existing.some((row) => row.name === to)) throw new CaptureError(`a table named ${to} already exists`);
  const graph = await readCascadeGraph(query);
  const linked = graph.keys.find(
    (key) => (key.parent === from && key.child !== from && graph.captured.has(key.child)) || (key.child === from && key.parent !== from && graph.captured.has(key.parent)),
  );
  if (linked) {
    throw new CaptureError(
      `${from} is in a cascading foreign key with the captured table ${linked.parent === from ? linked.child : linked.parent} (${linked.name}): ` +
        'renaming such a table through Tributary is not supported yet; rename it with RENAME TABLE and capture it again under its new name, with an initial copy',
    );
  }
}

/** The old triggers back on the table (still called `schema.table`), the ones named for `to` gone. */
async function putBack(query: Query, schema: TableSchema, to: string, cause: unknown): Promise<void> {
  try {
    for (const name of Object.values(triggerNames(to))) await query(`DROP TRIGGER IF EXISTS ${quoteMysql(name)}`);
    await replaceTriggers(query, schema);
  } catch (error) {
    throw new CaptureError(
      `renaming ${schema.table} to ${to} failed (${errorMessage(cause)}) and its capture triggers could not be put back: ${errorMessage(error)}. ` +
        `Writes to ${schema.table} may be captured under the name ${to}: capture the table again (POST …/tables/${schema.table}/refresh)`,
      { cause: error },
    );
  }
}

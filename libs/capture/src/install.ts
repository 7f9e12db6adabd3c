import { Knex } from 'knex';
import { OUTBOX_TABLE } from '@tributary/db';
import { TableSchema, quoteMysql, validateIdentifier } from '@tributary/model';
import { readSchema } from './introspect';
import { capturedTriggers } from './installed';
import { triggerNames } from './names';
import { DEFAULT_LOCK_WAIT_SECONDS, withDedicatedSession, withTablesLocked } from './session';
import { Query } from './sql';
import { generateTriggers } from './triggers';

export interface InstallOptions {
  /**
   * Called with the schema that is about to be captured while the table and
   * the outbox are locked, e.g. to record it in the control schema. Throwing
   * aborts the install with the old triggers untouched. It must not touch the
   * locked tables through another connection (that would wait for the lock).
   */
  beforeInstall?: (schema: TableSchema) => Promise<void>;
  /** How long to wait for open transactions on the table before failing (seconds). Default 10. */
  lockWaitSeconds?: number;
}

/**
 * Installs (or regenerates) the capture triggers of `table` from its current
 * schema. Idempotent. Runs under `LOCK TABLES <table> WRITE, <outbox> WRITE`
 * on a dedicated connection, so no write is lost or captured with a stale
 * image: a concurrent writer either finished under the old triggers or waits
 * and runs under the new ones. Also drops other `trb_` triggers left on the
 * table (e.g. by a RENAME TABLE), which would capture it under a stale name.
 *
 * @returns the schema the new triggers capture.
 * @throws CaptureError if the table cannot be captured or locked (see introspectTable).
 */
export async function installCapture(knex: Knex, table: string, opts: InstallOptions = {}): Promise<TableSchema> {
  validateIdentifier(table, 'table');
  return withDedicatedSession(knex, opts.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS, (query) =>
    withTablesLocked(query, [table, OUTBOX_TABLE], async () => {
      // information_schema and SHOW INDEX work under LOCK TABLES, so the schema read is the one the triggers will see.
      const schema = await readSchema(query, table);
      await opts.beforeInstall?.(schema);
      await replaceTriggers(query, schema);
      return schema;
    }),
  );
}

/**
 * Installs the triggers `schema` needs and drops any other `trb_` trigger on
 * the table. Run it while the table and the outbox are locked.
 */
export async function replaceTriggers(query: Query, schema: TableSchema): Promise<void> {
  const triggers = generateTriggers(schema);
  for (const trigger of triggers) await query(trigger.sql);
  await dropTriggers(query, schema.table, (name) => !triggers.some((trigger) => trigger.name === name));
}

/**
 * Removes the capture triggers of `table` (and any other `trb_` trigger on
 * it). Idempotent; a missing table is not an error.
 */
export async function uninstallCapture(knex: Knex, table: string, opts: Pick<InstallOptions, 'lockWaitSeconds'> = {}): Promise<void> {
  validateIdentifier(table, 'table');
  await withDedicatedSession(knex, opts.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS, async (query) => {
    for (const name of Object.values(triggerNames(table))) await query(`DROP TRIGGER IF EXISTS ${quoteMysql(name)}`);
    await dropTriggers(query, table, () => true);
  });
}

async function dropTriggers(query: Query, table: string, shouldDrop: (name: string) => boolean): Promise<void> {
  for (const { name } of await capturedTriggers(query, table)) {
    if (shouldDrop(name)) await query(`DROP TRIGGER IF EXISTS ${quoteMysql(validateIdentifier(name, 'trigger'))}`);
  }
}

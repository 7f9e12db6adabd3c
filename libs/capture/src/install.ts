import { Knex } from 'knex';
import { OUTBOX_TABLE } from '@tributary/db';
import { TableSchema, quoteMysql, validateIdentifier } from '@tributary/model';
import { ColumnFacts, readColumnFacts } from './column-facts';
import { readSchema } from './introspect';
import { capturedTriggers } from './installed';
import { cascadeTriggerNames, triggerNames } from './names';
import { DEFAULT_LOCK_WAIT_SECONDS, withDedicatedSession, withTablesLocked } from './session';
import { Query } from './sql';
import { cascadeAncestors, CascadeGraph, cascadeTriggersOf, readCascadeGraph } from './cascade-triggers';
import { generateTriggers, TriggerDefinition } from './triggers';

export interface InstallOptions {
  /**
   * Called with the schema that is about to be captured while the table and
   * the outbox are locked, e.g. to record it in the control schema. Throwing
   * aborts the install with the old triggers untouched. It must not touch the
   * locked tables through another connection (that would wait for the lock):
   * `facts` reads the table's column facts on the locking session.
   */
  beforeInstall?: (schema: TableSchema, facts: () => Promise<ColumnFacts>) => Promise<void>;
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
  return withDedicatedSession(knex, opts.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS, async (query) => {
    // Captured tables whose cascade triggers write this table's rows: regenerated with it, under the same locks.
    const parents = capturedCascadeParents(await readCascadeGraph(query), table);
    return withTablesLocked(query, [table, OUTBOX_TABLE, ...parents], async () => {
      // information_schema and SHOW INDEX work under LOCK TABLES, so the schema read is the one the triggers will see.
      const schema = await readSchema(query, table);
      await opts.beforeInstall?.(schema, () => readColumnFacts(query, table));
      const graph = await readCascadeGraph(query);
      await replaceTriggers(query, schema, graph);
      await replaceCascadeParents(query, parents, { ...graph, captured: new Set([...graph.captured, table]) });
      return schema;
    });
  });
}

/**
 * The triggers a captured table needs as things are now: its capture
 * triggers, and the cascade triggers for the captured rows its foreign keys'
 * actions change (cascade-triggers.ts).
 */
export async function expectedTriggers(query: Query, schema: TableSchema, graph?: CascadeGraph): Promise<TriggerDefinition[]> {
  return [...generateTriggers(schema), ...(await cascadeTriggersOf(query, schema.table, (table) => readSchema(query, table), schema, graph))];
}

/**
 * Installs the triggers `schema` needs and drops any other `trb_` trigger on
 * the table. Run it while the table and the outbox are locked.
 */
export async function replaceTriggers(query: Query, schema: TableSchema, graph?: CascadeGraph): Promise<void> {
  const triggers = await expectedTriggers(query, schema, graph);
  for (const trigger of triggers) await query(trigger.sql);
  await dropTriggers(query, schema.table, (name) => !triggers.some((trigger) => trigger.name === name));
}

/**
 * The captured tables above `table` along cascading foreign keys, whose
 * cascade triggers write its rows (in name order: the order they are locked in).
 */
export function capturedCascadeParents(graph: CascadeGraph, table: string): string[] {
  if (!graph.keys.some((key) => key.child === table)) return [];
  return cascadeAncestors(table, graph.keys).filter((parent) => graph.captured.has(parent));
}

/**
 * Regenerates (or drops) the cascade triggers of the captured tables
 * `parents` from `graph`; their capture triggers stay. Run it with them locked.
 */
export async function replaceCascadeParents(query: Query, parents: readonly string[], graph: CascadeGraph): Promise<void> {
  for (const parent of parents) {
    const triggers = await cascadeTriggersOf(query, parent, (table) => readSchema(query, table), undefined, graph);
    for (const trigger of triggers) await query(trigger.sql);
    for (const name of Object.values(cascadeTriggerNames(parent))) {
      if (!triggers.some((trigger) => trigger.name === name)) await query(`DROP TRIGGER IF EXISTS ${quoteMysql(name)}`);
    }
  }
}

/**
 * Removes the capture triggers of `table` (and any other `trb_` trigger on
 * it). Idempotent; a missing table is not an error.
 */
export async function uninstallCapture(knex: Knex, table: string, opts: Pick<InstallOptions, 'lockWaitSeconds'> = {}): Promise<void> {
  validateIdentifier(table, 'table');
  await withDedicatedSession(knex, opts.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS, async (query) => {
    const graph = await readCascadeGraph(query);
    const parents = capturedCascadeParents(graph, table);
    for (const name of [...Object.values(triggerNames(table)), ...Object.values(cascadeTriggerNames(table))]) await query(`DROP TRIGGER IF EXISTS ${quoteMysql(name)}`);
    await dropTriggers(query, table, () => true);
    // Its rows are no longer written by the cascade triggers above it.
    const released = { ...graph, captured: new Set([...graph.captured].filter((name) => name !== table)) };
    if (parents.length > 0) await withTablesLocked(query, [OUTBOX_TABLE, ...parents], () => replaceCascadeParents(query, parents, released));
  });
}

async function dropTriggers(query: Query, table: string, shouldDrop: (name: string) => boolean): Promise<void> {
  for (const { name } of await capturedTriggers(query, table)) {
    if (shouldDrop(name)) await query(`DROP TRIGGER IF EXISTS ${quoteMysql(validateIdentifier(name, 'trigger'))}`);
  }
}

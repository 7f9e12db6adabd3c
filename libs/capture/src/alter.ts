import { Knex } from 'knex';
import { OUTBOX_TABLE } from '@tributary/db';
import { TableSchema, quoteMysql, validateIdentifier } from '@tributary/model';
import { ColumnRename } from '@tributary/model';
import { probeAlter } from './alter-probe';
import { columnRenames } from './alter-clauses';
import { validateAlterSpec } from './alter-spec';
import { ColumnFacts, readColumnFacts } from './column-facts';
import { CaptureError } from './errors';
import { readCascadeGraph } from './cascade-triggers';
import { capturedCascadeParents, replaceCascadeParents, replaceTriggers } from './install';
import { readSchema } from './introspect';
import { DEFAULT_LOCK_WAIT_SECONDS, errorMessage, withDedicatedSession, withTablesLocked } from './session';

export interface AlterOptions {
  /**
   * Called with the table's new schema after the ALTER, while the table and
   * the outbox are still locked and before the new triggers go live, e.g. to
   * record the schema in the control schema. It must not touch the locked
   * tables through another connection. Throwing cannot undo the ALTER (DDL
   * is not transactional): the new triggers are installed anyway, so the
   * application's writes keep working and every change is captured, and
   * alterCapturedTable then fails with a CaptureError saying so.
   * `facts`: the altered table's defaults and whether it has rows (what a
   * schema change plan needs), `renames` the columns the spec renamed.
   */
  beforeInstall?: (schema: TableSchema, change: AlterWitness) => Promise<void>;
  /** How long to wait for open transactions on the table before failing, nothing changed (seconds). Default 10. */
  lockWaitSeconds?: number;
}

/** What an ALTER did beyond the shape information_schema shows. */
export interface AlterWitness {
  facts: ColumnFacts;
  /** Columns the spec renames, as MariaDB applies them (together: see columnRenames). */
  renames: ColumnRename[];
}

/**
 * What an ALTER of a captured table would leave, without changing it: the
 * ALTER tried on an empty copy (probeAlter), for a dry run.
 *
 * @throws CaptureError if the spec or its result is refused, or the copy could not be made or altered
 *   (e.g. the spec names a foreign key, which the copy lacks): then there is nothing to show.
 */
export async function previewAlter(knex: Knex, table: string, alterSpec: string, lockWaitSeconds = DEFAULT_LOCK_WAIT_SECONDS): Promise<{ after: TableSchema } & AlterWitness> {
  validateIdentifier(table, 'table');
  const clauses = validateAlterSpec(alterSpec);
  return withDedicatedSession(knex, lockWaitSeconds, async (query) => {
    const probed = await probeAlter(query, table, clauses, await readSchema(query, table));
    if (probed === 'unknown') {
      throw new CaptureError(
        `ALTER TABLE ${table} could not be tried on an empty copy of the table (it may name a foreign key, which the copy lacks, or the account may not create tables), so there is no dry run of it`,
      );
    }
    return { ...probed, renames: columnRenames(clauses) };
  });
}

/**
 * Changes a captured table's shape and regenerates its capture triggers as
 * one step for writers: on a dedicated session, the ALTER tried on an empty
 * copy first (probeAlter: refused there, nothing changes), then `LOCK TABLES <table> WRITE,
 * <outbox> WRITE`, `ALTER TABLE <table> <alterSpec>`, read the new schema,
 * `beforeInstall`, `CREATE OR REPLACE TRIGGER` ×3, `UNLOCK TABLES`.
 *
 * A plain ALTER that drops or renames a captured column makes every write to
 * the table fail until the triggers are regenerated (they name the old
 * column), and an added column goes uncaptured until then. Here a concurrent
 * writer waits for the lock and then runs under the new triggers. Measured
 * on MariaDB 10.11: ALTER TABLE runs under LOCK TABLES and the lock is kept
 * after it; an INSERT issued meanwhile waits and is captured by the new
 * trigger with the new columns.
 *
 * Writers (and the relay's outbox reads) wait for as long as the ALTER runs:
 * prefer changes MariaDB does instantly or in place (ADD/DROP COLUMN, NULL
 * changes); a copying ALTER of a large table blocks them for its whole run.
 *
 * @param alterSpec what follows `ALTER TABLE <table>`, e.g. `ADD COLUMN note VARCHAR(20) NULL, DROP COLUMN legacy`;
 *   checked by validateAlterSpec (one statement, no comments, balanced quotes, no table rename).
 * @returns the schema the new triggers capture.
 * @throws CaptureError if the spec is refused, the table cannot be captured or locked, or the ALTER fails
 *   (in those cases nothing changed); or, with a message saying the ALTER was applied, if the new shape
 *   cannot be captured (the previous triggers stay) or beforeInstall failed (the new triggers are installed).
 */
export async function alterCapturedTable(knex: Knex, table: string, alterSpec: string, opts: AlterOptions = {}): Promise<TableSchema> {
  validateIdentifier(table, 'table');
  const clauses = validateAlterSpec(alterSpec);
  return withDedicatedSession(knex, opts.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS, async (query) => {
    // Refuse before changing anything if the table is not one capture can carry, or the ALTER would leave it so.
    await probeAlter(query, table, clauses, await readSchema(query, table));
    const parents = capturedCascadeParents(await readCascadeGraph(query), table);
    return withTablesLocked(query, [table, OUTBOX_TABLE, ...parents], async () => {
      await readSchema(query, table);
      try {
        // The spec only ever goes here, after the quoted table name.
        await query(`ALTER TABLE ${quoteMysql(table)} ${clauses}`);
      } catch (error) {
        throw new CaptureError(`ALTER TABLE ${table} failed, the table is unchanged: ${errorMessage(error)}`, { cause: error });
      }
      let schema: TableSchema;
      try {
        schema = await readSchema(query, table);
      } catch (error) {
        throw new CaptureError(
          `ALTER TABLE ${table} was applied, but the new shape cannot be captured: ${errorMessage(error)}. ` +
            `The previous triggers are still installed: writes to ${table} may fail until the table is fixed and capture is installed again`,
          { cause: error },
        );
      }
      const witness = { facts: await readColumnFacts(query, table), renames: columnRenames(clauses) };
      const refusal = await failureOf(() => opts.beforeInstall?.(schema, witness));
      try {
        const graph = await readCascadeGraph(query);
        await replaceTriggers(query, schema, graph);
        // The cascade triggers above it write its rows in its new shape.
        await replaceCascadeParents(query, parents, graph);
      } catch (error) {
        throw new CaptureError(
          `ALTER TABLE ${table} was applied, but its capture triggers could not be regenerated: ${errorMessage(error)}. ` +
            `Writes to ${table} may fail until capture is installed again`,
          { cause: error },
        );
      }
      if (refusal) {
        throw new CaptureError(
          `ALTER TABLE ${table} was applied and capture regenerated (schema ${schema.hash}), but beforeInstall failed: ${errorMessage(refusal.error)}. ` +
            'Changes with the new schema cannot be decoded until it is recorded: capture the table again',
          { cause: refusal.error },
        );
      }
      return schema;
    });
  });
}

/** Runs `work` and returns its error, if any, instead of throwing it. */
async function failureOf(work: () => Promise<void> | undefined): Promise<{ error: unknown } | null> {
  try {
    await work();
    return null;
  } catch (error) {
    return { error };
  }
}

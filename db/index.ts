import { Knex } from 'knex';
import { controlSchema } from './control/001_control_schema';
import { routesAndDeadLetters } from './control/002_routes_and_dead_letters';
import { snapshotsAndVerifyRuns } from './control/003_snapshots_and_verify_runs';
import { conflicts } from './control/004_conflicts';
import { outboxTable } from './outbox/001_outbox';
import { StaticMigrationSource } from './migration-source';

export { ORIGIN_VARIABLE, OUTBOX_COLUMNS, OUTBOX_TABLE, TS_MICROS } from './outbox/shape';
export { CONTROL_TABLES, RESERVED_TABLE_PREFIX, reservedColumnReason, reservedTableReason } from './reserved-names';

/** Migrates the control schema (in the control database). */
export async function migrateControl(knex: Knex): Promise<void> {
  await migrateIfPending(knex, {
    migrationSource: new StaticMigrationSource([controlSchema, routesAndDeadLetters, snapshotsAndVerifyRuns, conflicts]),
    tableName: 'tributary_migrations',
  });
}

/** Creates or upgrades the outbox in one source database. */
export async function migrateOutbox(knex: Knex): Promise<void> {
  await migrateIfPending(knex, {
    migrationSource: new StaticMigrationSource([outboxTable]),
    tableName: '_tributary_migrations',
  });
}

/**
 * knex takes its migration lock (an UPDATE) even when nothing is pending;
 * asking first lets a relay or worker whose user may only read the control
 * schema start against an up-to-date one (least privilege).
 */
async function migrateIfPending(knex: Knex, config: Knex.MigratorConfig): Promise<void> {
  const hasTable = await knex.schema.hasTable(config.tableName as string);
  if (hasTable) {
    const [, pending] = (await knex.migrate.list(config)) as [unknown[], unknown[]];
    if (pending.length === 0) return;
  }
  await knex.migrate.latest(config);
}

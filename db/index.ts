import { Knex } from 'knex';
import { controlSchema } from './control/001_control_schema';
import { routesAndDeadLetters } from './control/002_routes_and_dead_letters';
import { outboxTable, OUTBOX_TABLE } from './outbox/001_outbox';
import { StaticMigrationSource } from './migration-source';

export { OUTBOX_TABLE };

/** Migrates the control schema (in the control database). */
export async function migrateControl(knex: Knex): Promise<void> {
  await knex.migrate.latest({
    migrationSource: new StaticMigrationSource([controlSchema, routesAndDeadLetters]),
    tableName: 'tributary_migrations',
  });
}

/** Creates or upgrades the outbox in one source database. */
export async function migrateOutbox(knex: Knex): Promise<void> {
  await knex.migrate.latest({
    migrationSource: new StaticMigrationSource([outboxTable]),
    tableName: '_tributary_migrations',
  });
}

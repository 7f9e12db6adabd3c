import { Knex } from 'knex';
import { ConnectionOptions, createConnection, RowDataPacket } from 'mysql2/promise';
import { controlSchema } from './control/001_control_schema';
import { routesAndDeadLetters } from './control/002_routes_and_dead_letters';
import { snapshotsAndVerifyRuns } from './control/003_snapshots_and_verify_runs';
import { conflicts } from './control/004_conflicts';
import { deadLetterRowsOfChunks } from './control/005_dead_letter_rows_of_chunks';
import { partitionedRoutes } from './control/006_partitioned_routes';
import { tableRebuilds } from './control/007_table_rebuilds';
import { routeSamples } from './control/008_route_samples';
import { localOnlyRoutes } from './control/009_local_only_routes';
import { routeCoverage } from './control/010_route_coverage';
import { schemaChanges } from './control/011_schema_changes';
import { tableRenames } from './control/012_table_renames';
import { outboxTable } from './outbox/001_outbox';
import { StaticMigrationSource } from './migration-source';

export { CONFIG_MARKER_TABLE, COPY_CHUNK_PK, COPY_CHUNK_SEPARATOR, ORIGIN_MAX_LENGTH, ORIGIN_VARIABLE, OUTBOX_COLUMNS, OUTBOX_TABLE, TS_MICROS } from './outbox/shape';
export { CONTROL_TABLES, RESERVED_TABLE_PREFIX, reservedColumnReason, reservedTableReason } from './reserved-names';

/** Migrates the control schema (in the control database). */
export async function migrateControl(knex: Knex): Promise<void> {
  await migrateIfPending(knex, {
    migrationSource: new StaticMigrationSource([controlSchema, routesAndDeadLetters, snapshotsAndVerifyRuns, conflicts, deadLetterRowsOfChunks, partitionedRoutes, tableRebuilds, routeSamples, localOnlyRoutes, routeCoverage, schemaChanges, tableRenames]),
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
 * Brings a database's schema up to date, safely whoever else starts at the
 * same moment (`docker compose up` starts relay, worker and admin at once):
 *
 * - up to date already: nothing is written or locked (a relay or worker whose
 *   user may only read the control schema starts; knex would take its
 *   migration lock, an UPDATE, even with nothing pending);
 * - a schema migrated by a newer Tributary (migrations this code does not
 *   know): refused with a message, never run against (rolling upgrades);
 * - otherwise one process migrates while the others wait for it on a MySQL
 *   named lock (MIGRATION_LOCK_WAIT_S), then find nothing pending. knex's own
 *   lock only makes the losers fail at once ("Migration table is already
 *   locked").
 */
async function migrateIfPending(knex: Knex, config: Knex.MigratorConfig & { tableName: string; migrationSource: StaticMigrationSource }): Promise<void> {
  if (await upToDate(knex, config)) return;
  await withMigrationLock(knex, config.tableName, async () => {
    if (await upToDate(knex, config)) return; // migrated by the process we waited for
    await knex.migrate.latest(config);
  });
}

/** Whether every known migration ran; throws if the schema has migrations this code does not know. */
async function upToDate(knex: Knex, config: { tableName: string; migrationSource: StaticMigrationSource }): Promise<boolean> {
  if (!(await knex.schema.hasTable(config.tableName))) return false;
  const known = (await config.migrationSource.getMigrations()).map((migration) => migration.name);
  const [rows] = (await knex.raw(`SELECT name FROM \`${config.tableName}\``)) as [Array<{ name: string }>];
  const done = rows.map((row) => row.name);
  const unknown = done.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `the schema of ${config.tableName} was migrated by a newer Tributary (${unknown.join(', ')} unknown to this version): ` +
        'run this process at that version or later',
    );
  }
  return known.every((name) => done.includes(name));
}

/** How long a process waits for another one's migration before it gives up (and is restarted). */
const MIGRATION_LOCK_WAIT_S = 300;

/**
 * Runs `work` holding a MySQL named lock for migrations of this database and
 * migration table, taken on a connection of its own: the knex pool may have
 * one connection only, which the migration needs. A process that dies
 * releases the lock with its connection.
 */
async function withMigrationLock(knex: Knex, tableName: string, work: () => Promise<void>): Promise<void> {
  const connection = await createConnection(lockConnectionOptions(knex));
  try {
    // Computed by the server: the database's own name, hashed to fit the 64-character limit.
    const [rows] = await connection.query<RowDataPacket[]>("SELECT GET_LOCK(CONCAT('tributary_migrate_', SHA1(CONCAT(DATABASE(), '/', ?))), ?) AS got", [
      tableName,
      MIGRATION_LOCK_WAIT_S,
    ]);
    if (Number(rows[0].got) !== 1) throw new Error(`waited ${MIGRATION_LOCK_WAIT_S} s for another process to migrate ${tableName}; giving up`);
    await work();
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

/** The knex instance's own connection settings, for one extra plain mysql2 connection. */
function lockConnectionOptions(knex: Knex): ConnectionOptions {
  const config = knex.client.config.connection as string | (ConnectionOptions & { uri?: string });
  if (typeof config === 'string') return { uri: config };
  const { uri, host, port, user, password, database, ssl, socketPath } = config;
  return uri ? { uri, ssl } : { host, port, user, password, database, ssl, socketPath };
}

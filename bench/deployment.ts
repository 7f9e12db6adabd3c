import { CatalogRepository, ProgressRepository, SnapshotRepository } from '@tributary/control';
import { migrateControl } from '@tributary/db';
import { ReplicationSetup } from '@tributary/setup';
import { defaultTargetRegistry } from '@tributary/targets';
import { pidsByName } from './proc';
import { AppProcess, BenchDatabase, Cleanup, cleanRedisPrefix, createMysqlDatabase, createPostgresDatabase, uniqueName } from './support';

/** A throwaway deployment for one measurement: control, source and PostgreSQL databases and a Redis prefix, all removed by `cleanup`. */
export interface BenchDeployment {
  control: BenchDatabase;
  source: BenchDatabase;
  postgres: BenchDatabase;
  prefix: string;
  /**
   * Unique: the relay's leader lock (GET_LOCK) is named after the source id and is global to the
   * MariaDB server, so a fixed id would queue this relay behind another deployment's relay of it.
   */
  sourceId: string;
  progress: ProgressRepository;
  snapshots: SnapshotRepository;
  setup: ReplicationSetup;
}

export async function createBenchDeployment(urls: { mysqlUrl: string; postgresUrl: string; redisUrl: string }, cleanup: Cleanup): Promise<BenchDeployment> {
  const control = await createMysqlDatabase(urls.mysqlUrl, 'trib_bench_ctl', cleanup);
  const source = await createMysqlDatabase(urls.mysqlUrl, 'trib_bench_src', cleanup);
  const postgres = await createPostgresDatabase(urls.postgresUrl, 'trib_bench_pg', cleanup);
  const prefix = uniqueName('trib_bench');
  cleanRedisPrefix(urls.redisUrl, prefix, cleanup);
  await migrateControl(control.knex);
  const snapshots = new SnapshotRepository(control.knex);
  return {
    control,
    source,
    postgres,
    prefix,
    sourceId: uniqueName('src'),
    progress: new ProgressRepository(control.knex),
    snapshots,
    setup: new ReplicationSetup(new CatalogRepository(control.knex), defaultTargetRegistry(), snapshots),
  };
}

/** CPU groups: each app, and the servers it talks to (every PostgreSQL backend counts). */
export function cpuGroups(apps: readonly AppProcess[]): Map<string, () => number[]> {
  const servers = (name: string) => () => pidsByName([name]).get(name) ?? [];
  const groups = new Map<string, () => number[]>();
  for (const name of ['relay', 'worker', 'admin', 'tributary']) {
    groups.set(name, () => apps.filter((app) => app.name === name).map((app) => app.pid));
  }
  groups.set('mariadb', servers('mariadbd'));
  groups.set('postgres', servers('postgres'));
  groups.set('redis', servers('redis-server'));
  groups.set('bench', () => [process.pid]);
  return groups;
}

export interface RowComparison {
  source: number;
  target: number;
  sourceSum: string;
  targetSum: string;
}

/** The verdict: same row count (and same DECIMAL total, a cheap content check) at source and target. */
export async function compareRows(source: BenchDatabase, postgres: BenchDatabase, table: string, targetTable = table): Promise<RowComparison> {
  const [mysqlRows] = await source.knex.raw(`SELECT COUNT(*) AS n, CAST(COALESCE(SUM(amount), 0) AS CHAR) AS s FROM \`${table}\``);
  const pgResult = await postgres.knex.raw(`SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0)::text AS s FROM "${targetTable}"`);
  const mysql = (mysqlRows as Array<{ n: number; s: string }>)[0];
  const pg = (pgResult as { rows: Array<{ n: string; s: string }> }).rows[0];
  return { source: Number(mysql.n), target: Number(pg.n), sourceSum: mysql.s, targetSum: pg.s };
}

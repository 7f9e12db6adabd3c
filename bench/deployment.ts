import { CatalogRepository, ProgressRepository, SnapshotRepository } from '@tributary/control';
import { migrateControl } from '@tributary/db';
import { TableSchema } from '@tributary/model';
import { announceConfigChange, createRedis } from '@tributary/queue';
import { ReplicationSetup } from '@tributary/setup';
import { defaultTargetRegistry } from '@tributary/targets';
import { itemsDdl } from './items';
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

/** Tells the running apps that the configuration changed, as the admin API does after every change it makes (ConfigChangeInterceptor). */
export async function announceChange(deployment: Pick<BenchDeployment, 'prefix'>, redisUrl: string): Promise<void> {
  const redis = createRedis(redisUrl);
  try {
    await announceConfigChange(redis, deployment.prefix);
  } finally {
    redis.disconnect();
  }
}

/** Creates `table` (the bench's items shape) in the source, adds the source and captures the table; returns the captured schema. */
export async function captureItems(deployment: BenchDeployment, table: string): Promise<TableSchema> {
  const { source, setup, sourceId } = deployment;
  await source.knex.raw(itemsDdl(table));
  await setup.addSource(sourceId, source.url);
  return (await setup.captureTable(sourceId, table)).schema;
}

/**
 * Routes `table` of the source to a PostgreSQL target (default: the
 * deployment's database) under `targetTable` (default: the same name). The
 * route must exist before any change it should carry: a route created later
 * starts at the relay's watermark (CatalogRepository.upsertRoute).
 */
export async function routeToPostgres(
  deployment: BenchDeployment,
  route: { routeId: string; table: string; targetId: string; targetTable?: string },
): Promise<void> {
  await deployment.setup.addRoute({
    id: route.routeId,
    sourceId: deployment.sourceId,
    table: route.table,
    targetId: route.targetId,
    targetTable: route.targetTable ?? route.table,
    enabled: true,
  });
}

/** A PostgreSQL target at `url` (default: the deployment's database). */
export async function addPostgresTarget(deployment: BenchDeployment, targetId: string, url = deployment.postgres.url): Promise<void> {
  await deployment.setup.addTarget({ id: targetId, kind: 'postgres', url, options: {} });
}

/** The common case: one captured items table, one route of it to a table of the same name in the deployment's PostgreSQL. */
export async function routeItemsToPostgres(deployment: BenchDeployment, ids: { table: string; targetId: string; routeId: string }): Promise<TableSchema> {
  const schema = await captureItems(deployment, ids.table);
  await addPostgresTarget(deployment, ids.targetId);
  await routeToPostgres(deployment, ids);
  return schema;
}

/**
 * The environment of Tributary's apps for this deployment: its control
 * schema and Redis prefix, quiet logs, and any free port for the relay's and
 * worker's /health (a fixed one may be taken by another session's apps on
 * this shared machine); then the caller's settings, which win.
 */
export function tributaryEnv(deployment: Pick<BenchDeployment, 'control' | 'prefix'>, redisUrl: string, appEnv: Record<string, string>): Record<string, string> {
  return {
    CONTROL_DATABASE_URL: deployment.control.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: deployment.prefix,
    LOG_LEVEL: 'warn',
    RELAY_HTTP_PORT: '0',
    WORKER_HTTP_PORT: '0',
    ...appEnv,
  };
}

/** CPU groups: each app (by the names it was started under), and the servers it talks to (every PostgreSQL backend counts). */
export function cpuGroups(apps: readonly AppProcess[], names: readonly string[] = ['relay', 'worker', 'admin', 'tributary']): Map<string, () => number[]> {
  const servers = (name: string) => () => pidsByName([name]).get(name) ?? [];
  const groups = new Map<string, () => number[]>();
  for (const name of names) {
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

/**
 * The verdict: same row count (and same total of a numeric `column`, a cheap content check) at source and target.
 * `targetTable` (default: the source's name) may be a view, e.g. the live rows of a table that keeps tombstones.
 */
export async function compareRows(source: BenchDatabase, postgres: BenchDatabase, table: string, targetTable = table, column = 'amount'): Promise<RowComparison> {
  const [mysqlRows] = await source.knex.raw(`SELECT COUNT(*) AS n, CAST(COALESCE(SUM(\`${column}\`), 0) AS CHAR) AS s FROM \`${table}\``);
  const pgResult = await postgres.knex.raw(`SELECT COUNT(*) AS n, COALESCE(SUM("${column}"), 0)::text AS s FROM "${targetTable}"`);
  const mysql = (mysqlRows as Array<{ n: number; s: string }>)[0];
  const pg = (pgResult as { rows: Array<{ n: string; s: string }> }).rows[0];
  return { source: Number(mysql.n), target: Number(pg.n), sourceSum: mysql.s, targetSum: pg.s };
}

/** Same count and same total: what every section's verdict requires of a target table. */
export function rowsEqual(rows: RowComparison): boolean {
  return rows.source === rows.target && rows.sourceSum === rows.targetSum;
}

/** Dead letters of `routeIds` (default: every route), resolved or not: a clean run has none. */
export async function countDeadLetters(deployment: Pick<BenchDeployment, 'control'>, routeIds?: readonly string[]): Promise<number> {
  const query = deployment.control.knex('tributary_dead_letters').count({ n: '*' });
  if (routeIds) void query.whereIn('route_id', [...routeIds]);
  const [row] = await query;
  return Number(row.n);
}

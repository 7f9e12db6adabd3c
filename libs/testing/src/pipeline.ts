import { introspectTable } from '@tributary/capture';
import { CatalogRepository, DeadLetterRepository, ProgressRepository, SnapshotRepository } from '@tributary/control';
import { migrateControl } from '@tributary/db';
import { Row, TableSchema, TargetTableSpec } from '@tributary/model';
import { ReplicationSetup } from '@tributary/setup';
import { deleteKeysWithPrefix } from '@tributary/queue';
import { defaultTargetRegistry, MysqlTarget, PostgresTarget, Target } from '@tributary/targets';
import { createMysqlDatabase, createPostgresDatabase, TEST_REDIS_URL, TestDatabase, uniqueName } from './databases';
import { AppProcess, startApp } from './processes';
import { proxyInFrontOf, TcpProxy } from './tcp-proxy';
import { waitFor } from './wait';
import { ITEMS_DDL } from './workload';

/**
 * A whole Tributary deployment for an end-to-end test: its own control,
 * source and PostgreSQL databases, its own Redis key prefix, and the real
 * relay/worker processes started on demand.
 */
export interface Pipeline {
  control: TestDatabase;
  source: TestDatabase;
  postgres: TestDatabase;
  prefix: string;
  redisUrl: string;
  env: Record<string, string>;
  catalog: CatalogRepository;
  progress: ProgressRepository;
  deadLetters: DeadLetterRepository;
  setup: ReplicationSetup;
  start(app: 'relay' | 'worker' | 'tributary', extraEnv?: Record<string, string>): AppProcess;
  /** Waits until the route has durably applied every change now in the outbox. */
  waitForCatchUp(routeId: string, timeoutMs?: number): Promise<void>;
  /** Source rows and target rows of a table, in the same canonical forms, ordered by key. */
  compare(table: string, target: Target, targetTable: string): Promise<{ source: Row[]; target: Row[] }>;
  logs(): string;
  teardown(): Promise<void>;
}

export async function createPipeline(options: { redisUrl?: string } = {}): Promise<Pipeline> {
  const control = await createMysqlDatabase('trib_ctl');
  const source = await createMysqlDatabase('trib_src');
  const postgres = await createPostgresDatabase('trib_pg');
  await migrateControl(control.knex);
  const catalog = new CatalogRepository(control.knex);
  const progress = new ProgressRepository(control.knex);
  const setup = new ReplicationSetup(catalog, defaultTargetRegistry(), new SnapshotRepository(control.knex));
  const prefix = uniqueName('trib');
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const processes: AppProcess[] = [];
  const env: Record<string, string> = {
    CONTROL_DATABASE_URL: control.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    RELAY_POLL_MAX_MS: '50',
    RELAY_HOLE_CLOSE_DELAY_MS: '50',
    RELAY_HEARTBEAT_MS: '100',
    RELAY_LEADER_RETRY_MS: '200',
    CONFIG_REFRESH_MS: '200',
    WORKER_RETRY_MIN_MS: '50',
    WORKER_RETRY_MAX_MS: '1000',
    // Several relays and workers run side by side: each takes any free port for /health and /metrics.
    RELAY_HTTP_PORT: '0',
    WORKER_HTTP_PORT: '0',
  };

  return {
    control,
    source,
    postgres,
    prefix,
    redisUrl,
    env,
    catalog,
    progress,
    deadLetters: new DeadLetterRepository(control.knex),
    setup,
    start(app, extraEnv = {}) {
      const handle = startApp(app, { ...env, ...extraEnv });
      processes.push(handle);
      return handle;
    },
    async waitForCatchUp(routeId, timeoutMs = 60_000) {
      const [rows] = await source.knex.raw('SELECT COALESCE(MAX(seq), 0) AS m FROM _tributary_outbox');
      const max = Number((rows as Array<{ m: number }>)[0].m);
      await waitFor(
        async () => {
          const [route] = await progress.listProgress([routeId]);
          return route && route.watermark >= max;
        },
        { timeoutMs, what: `route ${routeId} to apply through seq ${max}` },
      );
    },
    compare: (table, target, targetTable) => compareTables(source, table, target, targetTable),
    logs() {
      return processes.map((p) => `--- ${p.name}\n${p.output()}`).join('\n');
    },
    async teardown() {
      await Promise.all(processes.map((p) => p.kill('SIGKILL')));
      await deleteRedisPrefix(redisUrl, prefix).catch(() => undefined);
      await Promise.all([control.drop(), source.drop(), postgres.drop()]);
    },
  };
}

/**
 * A source table's rows and a target table's, in the same canonical forms,
 * ordered by the source key (`targetTable` may be a view of a shared table).
 */
export async function compareTables(source: TestDatabase, table: string, target: Target, targetTable: string): Promise<{ source: Row[]; target: Row[] }> {
  const schema: TableSchema = await introspectTable(source.knex, table);
  const reader = new MysqlTarget({ kind: 'mysql', url: source.url });
  try {
    const spec: TargetTableSpec = { name: table, columns: schema.columns, key: schema.key };
    const jsonColumns = schema.columns.filter((column) => column.type === 'json').map((column) => column.name);
    const normalise = (rows: Row[]) => rows.map((row) => normaliseJson(row, jsonColumns));
    return {
      source: normalise(await reader.readRows(spec)),
      target: normalise(await target.readRows({ ...spec, name: targetTable })),
    };
  } finally {
    await reader.close();
  }
}

/** JSON is compared as data: PostgreSQL's jsonb reorders keys and spacing. */
function normaliseJson(row: Row, jsonColumns: string[]): Row {
  const copy = { ...row };
  for (const name of jsonColumns) {
    const value = copy[name];
    if (typeof value === 'string') copy[name] = JSON.stringify(sortKeys(JSON.parse(value)));
  }
  return copy;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/** Test clean-up: every key under `prefix:`. */
export const deleteRedisPrefix = deleteKeysWithPrefix;

/** A PostgreSQL target object for reading a test's target database. */
export function postgresReader(database: TestDatabase): PostgresTarget {
  return new PostgresTarget({ kind: 'postgres', url: database.url });
}


/**
 * The deployment most suites start from: table `items` (ITEMS_DDL) in the
 * pipeline's source, added as source `src` and captured, routed as
 * `items-pg` into table `items` of the pipeline's PostgreSQL (target `pg`).
 */
/**
 * Route `items-pg` from source `sourceId` into PostgreSQL through a TCP
 * proxy the test can take down, into a target table created first by
 * `targetDdl` (a rule the source does not have makes dead letters).
 */
export async function routeItemsThroughProxy(pipeline: Pipeline, sourceId: string, targetDdl: string): Promise<TcpProxy> {
  const viaProxy = await proxyInFrontOf(pipeline.postgres.url);
  const { source, postgres, setup } = pipeline;
  await source.knex.raw(ITEMS_DDL);
  await postgres.knex.raw(targetDdl);
  await setup.addSource(sourceId, source.url);
  await setup.captureTable(sourceId, 'items');
  await setup.addTarget({ id: 'pg', kind: 'postgres', url: viaProxy.url, options: {} });
  await setup.addRoute({ id: 'items-pg', sourceId, table: 'items', targetId: 'pg', targetTable: 'items', enabled: true });
  return viaProxy.proxy;
}

export async function routeItemsToPostgres(pipeline: Pipeline): Promise<void> {
  const { source, postgres, setup } = pipeline;
  await source.knex.raw(ITEMS_DDL);
  await setup.addSource('src', source.url);
  await setup.captureTable('src', 'items');
  await setup.addTarget({ id: 'pg', kind: 'postgres', url: postgres.url, options: {} });
  await setup.addRoute({ id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items', enabled: true });
}

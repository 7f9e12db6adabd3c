import 'reflect-metadata';
import { Knex } from 'knex';
import knexFactory from 'knex';
import { resolve } from 'node:path';
import { loadConfig, redactUrl } from '@tributary/config';
import { openMysql, prepareControlDatabase, CatalogRepository, ProgressRepository, SnapshotRepository } from '@tributary/control';
import { bootstrap } from '@tributary/platform';
import { AllInOneModule } from '../../tributary/src/all-in-one.module';
import { ReplicationSetup } from '@tributary/setup';
import { progressLine } from '@tributary/snapshot';
import { defaultTargetRegistry } from '@tributary/targets';
import { loadDemoConfig } from './demo-config';
import { ensureMysqlDatabase, ensurePostgresDatabase } from './demo-databases';

/**
 * `npm run demo`: captures a demo `orders` table on the local MariaDB,
 * replicates it to PostgreSQL and to a second MariaDB database, runs relay,
 * worker and admin in this process, and keeps writing orders (with NOW(6)
 * and RAND(), so you can see row images replicate exactly) while printing
 * what arrived where, and how far behind. The 500 orders it starts with
 * (written before capture) reach the targets through the initial copy.
 */
const ORDERS_DDL = `CREATE TABLE IF NOT EXISTS orders (
  id INT AUTO_INCREMENT PRIMARY KEY,
  customer VARCHAR(64) NOT NULL,
  region CHAR(2) NOT NULL,
  amount DECIMAL(10,2) NOT NULL,
  status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new',
  lucky DOUBLE NOT NULL,
  created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'warn'; // keep the demo's screen readable; set LOG_LEVEL=info to see the JSON logs
  const config = loadConfig();
  const demo = loadDemoConfig();

  say(`Tributary demo`);
  say(`  control schema  ${redactUrl(config.controlDatabaseUrl)}`);
  say(`  source          ${redactUrl(demo.DEMO_SOURCE_URL)} (table orders)`);
  say(`  targets         ${redactUrl(demo.DEMO_POSTGRES_URL)}  and  ${redactUrl(demo.DEMO_MYSQL_TARGET_URL)}`);

  await ensureMysqlDatabase(demo.DEMO_SOURCE_URL);
  await ensureMysqlDatabase(demo.DEMO_MYSQL_TARGET_URL);
  await ensurePostgresDatabase(demo.DEMO_POSTGRES_URL);
  const control = await prepareControlDatabase(config.controlDatabaseUrl);
  const source = openMysql(demo.DEMO_SOURCE_URL);
  await source.raw(ORDERS_DDL);
  // Orders from "before Tributary": only the initial copy can bring them to the targets.
  const [[existing]] = await source.raw('SELECT COUNT(*) AS n FROM orders');
  if (Number(existing.n) === 0) {
    await source.raw(`INSERT INTO orders (customer, region, amount, lucky, created_at)
      SELECT ELT(1 + seq % 6, 'ada', 'grace', 'linus', 'barbara', 'ken', 'margaret'), ELT(1 + seq % 4, 'EU', 'UK', 'US', 'JP'),
             ROUND(RAND() * 500, 2), RAND(), NOW(6) - INTERVAL seq MINUTE FROM seq_1_to_500`);
  }

  const catalog = new CatalogRepository(control);
  const progress = new ProgressRepository(control);
  const snapshots = new SnapshotRepository(control);
  const setup = new ReplicationSetup(catalog, defaultTargetRegistry(config.targets), snapshots);
  await setup.addSource('demo', demo.DEMO_SOURCE_URL);
  const { warnings } = await setup.captureTable('demo', 'orders');
  warnings.forEach((warning) => say(`  warning: ${warning}`));
  await setup.addTarget({ id: 'demo-pg', kind: 'postgres', url: demo.DEMO_POSTGRES_URL, options: {} });
  await setup.addTarget({ id: 'demo-mysql', kind: 'mysql', url: demo.DEMO_MYSQL_TARGET_URL, options: {} });
  await setup.addTarget({ id: 'demo-sqlite', kind: 'sqlite', url: sqliteUrl(demo.DEMO_SQLITE_PATH), options: {} });
  await setup.addRoute({ id: 'orders-pg', sourceId: 'demo', table: 'orders', targetId: 'demo-pg', targetTable: 'orders', enabled: true });
  await setup.addRoute({ id: 'orders-mysql', sourceId: 'demo', table: 'orders', targetId: 'demo-mysql', targetTable: 'orders', enabled: true });
  // A subset, reshaped: big European orders only, without the `lucky` column, with where they came from.
  await setup.addRoute({
    id: 'orders-eu-sqlite',
    sourceId: 'demo',
    table: 'orders',
    targetId: 'demo-sqlite',
    targetTable: 'big_eu_orders',
    enabled: true,
    filter: EU_FILTER,
    mapping: { exclude: ['lucky'], computed: [{ name: 'source', value: 'source' }] },
  });
  say(`  capture installed; routes: orders-pg (all rows), orders-mysql (all rows), orders-eu-sqlite (${EU_FILTER})`);
  // A route's first run copies the rows the table already has (the REST API does this on create).
  for (const routeId of ROUTES) {
    if (!(await snapshots.get(routeId))) await snapshots.request(routeId, 'initial', 'demo');
  }

  const app = await bootstrap('tributary', AllInOneModule, { http: 'admin', handleSignals: false });
  const base = `http://${config.admin.host}:${config.admin.port}`;
  say(`  relay, worker and admin running: status page ${base}/status/ (sign in with the token), queues ${base}/queues, API docs ${base}/docs, metrics ${base}/metrics\n`);

  const pg = knexFactory({ client: 'pg', connection: demo.DEMO_POSTGRES_URL, pool: { min: 0, max: 1 } });
  const copy = openMysql(demo.DEMO_MYSQL_TARGET_URL, { min: 0, max: 1 });
  const lite = knexFactory({ client: 'better-sqlite3', connection: { filename: resolve(demo.DEMO_SQLITE_PATH) }, useNullAsDefault: true });
  const deadline = demo.DEMO_SECONDS > 0 ? Date.now() + demo.DEMO_SECONDS * 1000 : Infinity;
  let stopping = false;
  process.once('SIGINT', () => (stopping = true));
  process.once('SIGTERM', () => (stopping = true));

  while (!stopping && Date.now() < deadline) {
    const id = await writeSomething(source);
    await sleep(700);
    await report(id, source, pg, copy, lite, progress, snapshots);
  }

  say('\nstopping…');
  await Promise.all([pg.destroy(), copy.destroy(), lite.destroy(), source.destroy(), control.destroy()]);
  await app.close();
}

/** Same text for the route filter and for the demo's own count at the source: the grammar is SQL-like. */
const EU_FILTER = "region in ('EU', 'UK') and amount >= 100";
const ROUTES = ['orders-pg', 'orders-mysql', 'orders-eu-sqlite'];

function sqliteUrl(path: string): string {
  return `sqlite://${resolve(path)}`;
}

let tick = 0;
const REGIONS = ['EU', 'UK', 'US', 'JP'];
const CUSTOMERS = ['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret'];

/** An insert every tick, and now and then an update or a delete: the three kinds of change. */
async function writeSomething(source: Knex): Promise<number> {
  tick++;
  const customer = CUSTOMERS[tick % CUSTOMERS.length];
  const [result] = await source.raw(
    'INSERT INTO orders (customer, region, amount, lucky, created_at) VALUES (?, ?, ROUND(RAND() * 500, 2), RAND(), NOW(6))',
    [customer, REGIONS[tick % REGIONS.length]],
  );
  const id = Number((result as { insertId: number }).insertId);
  if (tick % 3 === 0) await source.raw("UPDATE orders SET status = 'paid', amount = amount + 1 WHERE id = ?", [id - 1]);
  if (tick % 5 === 0) await source.raw('DELETE FROM orders WHERE id = ?', [id - 4]);
  return id;
}

async function report(
  id: number,
  source: Knex,
  pg: Knex,
  copy: Knex,
  lite: Knex,
  progress: ProgressRepository,
  snapshots: SnapshotRepository,
): Promise<void> {
  const [sourceRow] = (await source.raw('SELECT id, customer, amount, lucky, created_at FROM orders WHERE id = ?', [id]))[0] as Array<Record<string, unknown>>;
  const pgRow = await pg('orders').where({ id }).first().catch(() => undefined);
  const counts = await Promise.all([
    source.raw('SELECT COUNT(*) AS n FROM orders').then(([rows]) => Number((rows as Array<{ n: number }>)[0].n)),
    pg('orders').count({ n: '*' }).then((rows) => Number(rows[0].n)).catch(() => 0),
    copy.raw('SELECT COUNT(*) AS n FROM orders').then(([rows]) => Number((rows as Array<{ n: number }>)[0].n)).catch(() => 0),
    source.raw(`SELECT COUNT(*) AS n FROM orders WHERE ${EU_FILTER}`).then(([rows]) => Number((rows as Array<{ n: number }>)[0].n)),
    lite('big_eu_orders').count({ n: '*' }).then((rows) => Number(rows[0].n)).catch(() => 0),
  ]);
  const lags = (await progress.listProgress(ROUTES))
    .map((p) => `${p.routeId} at seq ${p.maxSeq}, lag ${lagMs(p.lastChangeTs, p.lastAppliedAt)}${p.lastError ? ` (failing: ${p.lastError})` : ''}`)
    .join(', ');
  const arrived = pgRow ? `in PostgreSQL: lucky=${pgRow.lucky} at ${String(pgRow.created_at instanceof Date ? pgRow.created_at.toISOString() : pgRow.created_at)}` : 'not yet in PostgreSQL';
  say(`order #${id} ${sourceRow?.customer} ${sourceRow?.amount} lucky=${sourceRow?.lucky} → ${arrived}`);
  say(`   rows: source ${counts[0]} | postgres ${counts[1]} | mariadb copy ${counts[2]} | sqlite big EU ${counts[4]} of ${counts[3]} matching`);
  say(`   ${lags}`);
  const copying = (await snapshots.list(ROUTES)).filter((snapshot) => snapshot.status !== 'done');
  for (const snapshot of copying) say(`   initial copy of ${snapshot.routeId}: ${snapshot.status} ${progressLine(snapshot)}`);
}

/** Capture-to-commit time of the last change the route applied. */
function lagMs(changeTs: number | null, appliedAt: Date | null): string {
  return changeTs && appliedAt ? `${Math.max(0, Math.round(appliedAt.getTime() - changeTs / 1000))} ms` : 'n/a';
}

function say(line: string): void {
  process.stdout.write(line + '\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

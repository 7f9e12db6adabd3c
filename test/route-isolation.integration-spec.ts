import { randomBytes } from 'node:crypto';
import { HttpTarget, MysqlTarget, Target } from '@tributary/targets';
import {
  AppProcess,
  createMysqlDatabase,
  createPipeline,
  freePort,
  ITEMS_DDL,
  Pipeline,
  postgresReader,
  runItemsWorkload,
  sleep,
  startApp,
  proxyInFrontOf,
  TcpProxy,
  TestDatabase,
  waitFor,
} from '@tributary/testing';
import { HttpTestReceiver } from '../libs/targets/src/test-kit/http-test-receiver';

/**
 * Route isolation (issue #10): one source table, four routes — PostgreSQL
 * directly, PostgreSQL behind a TCP proxy, a second MariaDB database behind a
 * TCP proxy, and an HTTP webhook. Each case takes one of the last three down
 * and writes a steady stream of changes; every other route must keep
 * applying and reach the outbox's max seq while the sick one is still down,
 * the status API must say which route is failing and which are running, and
 * once the target is back the sick route catches up and equals the source.
 *
 * The job size (JOB_MAX_ROWS) is set low, and the routes share their
 * source's queue, so a design that stops the whole source (or its queue)
 * while one route's job cannot finish is certain to stall within the stream.
 */

const TOKEN = randomBytes(16).toString('hex');
const SECRET = 'isolation-webhook-secret';
/** Each case writes this many changes with one target down (150 jobs of 20 rows), over at least STREAM_CHANGES / CHANGES_PER_SECOND seconds. */
const STREAM_CHANGES = 3_000;
const CHANGES_PER_SECOND = 750;
const KEY_SPACE = 400;
/** A design that stalls with one route down never gets there; a healthy one needs a few seconds. */
const CATCH_UP_MS = 25_000;
const FLOW_ENV = { JOB_MAX_ROWS: '20' };

const HEALTHY = 'items-pg';
const PG_PROXIED = 'items-pg-proxied';
const MYSQL = 'items-mysql';
const HOOK = 'items-hook';
const ROUTES = [HEALTHY, PG_PROXIED, MYSQL, HOOK];

interface RouteStatus {
  route: string;
  state: string;
  lastError: string | null;
  lag: { changes: number | null };
}

describe('route isolation: a target that is down holds back only its own route', () => {
  let pipeline: Pipeline;
  let targetDb: TestDatabase;
  let pgProxy: TcpProxy;
  let mysqlProxy: TcpProxy;
  let receiver: HttpTestReceiver;
  let admin: AppProcess;
  let adminPort: number;
  const readers = new Map<string, Target>();

  async function status(): Promise<Map<string, RouteStatus>> {
    const response = await fetch(`http://127.0.0.1:${adminPort}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (!response.ok) throw new Error(`GET /api/status answered ${response.status}`);
    return new Map(((await response.json()) as RouteStatus[]).map((route) => [route.route, route]));
  }

  async function outboxMaxSeq(): Promise<number> {
    const [rows] = await pipeline.source.knex.raw('SELECT COALESCE(MAX(seq), 0) AS m FROM _tributary_outbox');
    return Number((rows as Array<{ m: number }>)[0].m);
  }

  async function changesSince(seq: number): Promise<number> {
    const [rows] = await pipeline.source.knex.raw('SELECT COUNT(*) AS n FROM _tributary_outbox WHERE seq > ?', [seq]);
    return Number((rows as Array<{ n: number }>)[0].n);
  }

  /**
   * One transaction of ~50 row changes: an upsert of 30 random keys, a range
   * update, a range delete. A deadlock with the concurrent workload rolls it
   * back, as it would an application's; the stream just writes on.
   */
  async function bulkTransaction(): Promise<void> {
    const key = () => 1 + Math.floor(Math.random() * KEY_SPACE);
    const rows = Array.from({ length: 30 }, () => [key(), Math.floor(Math.random() * 5), `b${Math.random().toString(36).slice(2, 8)}`, Math.floor(Math.random() * 1e6)]);
    const from = key();
    try {
      await pipeline.source.knex.transaction(async (trx) => {
        await trx.raw(
          `INSERT INTO items (id, grp, name, amount, noted, payload) VALUES ${rows.map(() => "(?, ?, ?, ROUND(RAND() * 1000, 2), NOW(6), JSON_OBJECT('n', ?))").join(', ')}
           ON DUPLICATE KEY UPDATE name = VALUES(name), amount = VALUES(amount), noted = VALUES(noted), payload = VALUES(payload)`,
          rows.flat(),
        );
        await trx.raw('UPDATE items SET amount = amount + 1, noted = NOW(6) WHERE id BETWEEN ? AND ?', [from, from + 20]);
        await trx.raw('DELETE FROM items WHERE id BETWEEN ? AND ?', [from + 21, from + 25]);
      });
    } catch (error) {
      if (!['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'].includes((error as { code?: string }).code ?? '')) throw error;
    }
  }

  /**
   * Row changes paced by the outbox: `changes` committed changes at no more
   * than `perSecond`, so the stream lasts several seconds on a fast machine
   * and still reaches its size on a busy one (until `deadlineMs`). Bulk
   * transactions carry the volume; the random items workload (updates of the
   * same keys from two connections, key changes, rollbacks) the variety.
   */
  async function steadyStream(changes: number, perSecond: number, deadlineMs: number): Promise<number> {
    const start = Date.now();
    const from = await outboxMaxSeq();
    for (;;) {
      const written = await changesSince(from);
      if (written >= changes || Date.now() - start > deadlineMs) return written;
      if (written >= (perSecond * (Date.now() - start)) / 1000) await sleep(20);
      else await Promise.all([bulkTransaction(), runItemsWorkload(pipeline.source.url, { connections: 2, transactionsPerConnection: 3, keySpace: KEY_SPACE })]);
    }
  }

  /**
   * Waits until every route in `routes` has durably applied through `seq`;
   * then asserts it, so a failure shows each route's watermark.
   */
  async function expectApplied(routes: string[], seq: number, timeoutMs: number): Promise<void> {
    const positions = async () => {
      const progress = await pipeline.progress.listProgress(routes);
      return Object.fromEntries(routes.map((id) => [id, Math.min(progress.find((p) => p.routeId === id)?.watermark ?? 0, seq)]));
    };
    await waitFor(async () => Object.values(await positions()).every((watermark) => watermark >= seq), { timeoutMs, what: 'routes to apply' }).catch(
      () => undefined,
    );
    expect(await positions()).toEqual(Object.fromEntries(routes.map((id) => [id, seq])));
  }

  beforeAll(async () => {
    pipeline = await createPipeline();
    targetDb = await createMysqlDatabase('trib_tgt');
    const [pgViaProxy, mysqlViaProxy] = await Promise.all([proxyInFrontOf(pipeline.postgres.url), proxyInFrontOf(targetDb.url)]);
    pgProxy = pgViaProxy.proxy;
    mysqlProxy = mysqlViaProxy.proxy;
    receiver = new HttpTestReceiver(SECRET);
    const { url: hookUrl, readUrl } = await receiver.start();

    const { source, postgres, setup } = pipeline;
    await source.knex.raw(ITEMS_DDL);
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 'items');
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: postgres.url, options: {} });
    await setup.addTarget({ id: 'pg-proxied', kind: 'postgres', url: pgViaProxy.url, options: {} });
    await setup.addTarget({ id: 'mysql', kind: 'mysql', url: mysqlViaProxy.url, options: {} });
    await setup.addTarget({ id: 'hook', kind: 'http', url: hookUrl, options: { secret: SECRET } });
    const routes: Array<[string, string, string]> = [
      [HEALTHY, 'pg', 'items'],
      [PG_PROXIED, 'pg-proxied', 'items_proxied'],
      [MYSQL, 'mysql', 'items'],
      [HOOK, 'hook', 'items'],
    ];
    for (const [id, targetId, targetTable] of routes) {
      await setup.addRoute({ id, sourceId: 'src', table: 'items', targetId, targetTable, enabled: true });
    }
    // Readers go to the targets directly, never through the proxies.
    const pg = postgresReader(postgres);
    readers.set(HEALTHY, pg);
    readers.set(PG_PROXIED, pg);
    readers.set(MYSQL, new MysqlTarget({ kind: 'mysql', url: targetDb.url }));
    readers.set(HOOK, new HttpTarget({ kind: 'http', url: hookUrl, options: { secret: SECRET, readUrl } }));

    pipeline.start('relay', FLOW_ENV);
    pipeline.start('worker', FLOW_ENV);
    adminPort = await freePort();
    admin = startApp('admin', { ...pipeline.env, ADMIN_PORT: String(adminPort), ADMIN_TOKEN: TOKEN });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/health/live`)).ok, { what: 'the admin to listen', timeoutMs: 30_000 });

    // Every route works before any target goes down.
    await pipeline.source.knex.raw("INSERT INTO items VALUES (1, 0, 'before any outage', 1.00, NOW(6), NULL)");
    await expectApplied(ROUTES, await outboxMaxSeq(), 30_000);
  }, 90_000);

  afterAll(async () => {
    await admin?.kill('SIGKILL');
    await Promise.all([...new Set(readers.values())].map((reader) => reader.close()));
    await pipeline?.teardown();
    await Promise.all([pgProxy?.down(), mysqlProxy?.down(), receiver?.stop(), targetDb?.drop()]);
  });

  const cases: Array<{ name: string; route: string; down: () => Promise<void>; up: () => Promise<void>; error: RegExp }> = [
    {
      name: 'PostgreSQL (behind a proxy that goes down)',
      route: PG_PROXIED,
      down: () => pgProxy.down(),
      up: () => pgProxy.up(),
      error: /ECONNREFUSED|connect|terminat|timeout/i,
    },
    {
      name: 'MariaDB (a second database, behind a proxy that goes down)',
      route: MYSQL,
      down: () => mysqlProxy.down(),
      up: () => mysqlProxy.up(),
      error: /ECONNREFUSED|connect|closed|PROTOCOL|timeout/i,
    },
    {
      name: 'an HTTP webhook answering 503 to everything',
      route: HOOK,
      down: async () => {
        // The receiver answers these before handling POSTs normally: far more than the outage uses.
        for (let i = 0; i < 100_000; i++) receiver.scripted.push(503);
      },
      up: async () => {
        receiver.scripted.length = 0;
      },
      error: /503/,
    },
  ];

  describe.each(cases)('$name', ({ route: sick, down, up, error }) => {
    const others = ROUTES.filter((id) => id !== sick);

    it('every other route keeps applying and reaches the outbox max seq while it is down', async () => {
      await down();
      const written = await steadyStream(STREAM_CHANGES, CHANGES_PER_SECOND, 20_000);
      const max = await outboxMaxSeq();
      // Far more than two 20-row jobs: with one route's queue bound shared by the source, the stall is certain.
      expect(written).toBeGreaterThanOrEqual(STREAM_CHANGES);

      await expectApplied(others, max, CATCH_UP_MS);
      // The sick target really was down the whole time: its route is still behind.
      const [held] = await pipeline.progress.listProgress([sick]);
      expect(held.watermark).toBeLessThan(max);
    }, 60_000);

    it('status says its route is failing, and the others are running with no lag', async () => {
      const seen = await waitFor(
        async () => {
          const routes = await status();
          return routes.get(sick)?.state === 'failing' ? routes : null;
        },
        { timeoutMs: 15_000, what: `${sick} to show failing` },
      );
      const view = (routes: Map<string, RouteStatus>) =>
        Object.fromEntries([...routes.values()].map((r) => [r.route, { state: r.state, behind: (r.lag.changes ?? 0) > 0 }]));
      expect(view(seen)).toEqual(Object.fromEntries(ROUTES.map((id) => [id, { state: id === sick ? 'failing' : 'running', behind: id === sick }])));
      expect(seen.get(sick)?.lastError).toMatch(error);
    }, 30_000);

    it('once it is back, its route catches up and every route equals the source', async () => {
      await up();
      await expectApplied(ROUTES, await outboxMaxSeq(), 30_000);
      for (const id of ROUTES) {
        const { source, target } = await pipeline.compare('items', readers.get(id)!, id === PG_PROXIED ? 'items_proxied' : 'items');
        expect(source.length).toBeGreaterThan(0);
        expect({ route: id, rows: target }).toEqual({ route: id, rows: source });
      }
      const routes = await waitFor(
        async () => {
          const all = await status();
          return ROUTES.every((id) => all.get(id)?.state === 'running') ? all : null;
        },
        { timeoutMs: 10_000, what: 'every route to run again' },
      ).catch(() => status());
      expect(Object.fromEntries([...routes.values()].map((r) => [r.route, [r.state, r.lastError, r.lag.changes]]))).toEqual(
        Object.fromEntries(ROUTES.map((id) => [id, ['running', null, 0]])),
      );
    }, 60_000);
  });
});

import { randomBytes } from 'node:crypto';
import { VerifyRunRepository } from '@tributary/control';
import { MysqlTarget, PostgresTarget, Target } from '@tributary/targets';
import { adminClient, AppProcess, createMysqlDatabase, createPipeline, freePort, Pipeline, runCliCommand, TestDatabase, waitFor } from '@tributary/testing';
import { openRouteSession, repairRoute, verifyRoute } from '@tributary/verify';

/**
 * Verify and repair end to end: the real all-in-one app (relay, worker,
 * admin) replicating one MariaDB table to PostgreSQL and to MySQL; at each
 * target a row is changed, one deleted and one added behind Tributary's back.
 * Verify finds exactly those three, the CLI exits 1, repair (in-process for
 * PostgreSQL, over REST for MySQL) re-sends them through the routes, and
 * verify passes — the CLI exits 0.
 */

type Json = Record<string, unknown>;

const TOKEN = randomBytes(24).toString('base64url').slice(0, 32);
const ITEMS_DDL = `CREATE TABLE items (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(32) NOT NULL,
  amount DECIMAL(10,2) NULL,
  doc JSON NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
const FAST = { chunkRows: 10, pollMs: 100 };

describe('verify and repair: all-in-one app, PostgreSQL and MySQL targets', () => {
  let pipeline: Pipeline;
  let mysqlTarget: TestDatabase;
  let app: AppProcess;
  let base: string;
  const readers: Target[] = [];

  const call = adminClient<Json>(() => base, TOKEN);

  /** `node dist/apps/cli/src/main.js verify <route> …` with the pipeline's environment. */
  function cli(...args: string[]) {
    return runCliCommand(pipeline.env, ...args);
  }

  const session = (routeId: string) => openRouteSession({ catalog: pipeline.catalog, progress: pipeline.progress }, routeId);

  beforeAll(async () => {
    pipeline = await createPipeline();
    mysqlTarget = await createMysqlDatabase('trib_vmy');
    await pipeline.source.knex.raw(ITEMS_DDL);
    await pipeline.setup.addSource('src', pipeline.source.url);
    await pipeline.setup.captureTable('src', 'items');
    await pipeline.setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    await pipeline.setup.addTarget({ id: 'my', kind: 'mysql', url: mysqlTarget.url, options: {} });
    await pipeline.setup.addRoute({ id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items', enabled: true });
    await pipeline.setup.addRoute({ id: 'items-my', sourceId: 'src', table: 'items', targetId: 'my', targetTable: 'items', enabled: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN });
    await waitFor(() => fetch(`${base}/health`).then((r) => r.ok).catch(() => false), { timeoutMs: 60_000, what: 'the app to answer /health' }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
    });
    for (let id = 1; id <= 40; id++) {
      await pipeline.source.knex.raw('INSERT INTO items VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))', [id, `item ${id}`, (id * 2.5).toFixed(2), `{"b": ${id}, "a": [true, null]}`]);
    }
    await pipeline.waitForCatchUp('items-pg');
    await pipeline.waitForCatchUp('items-my');
    readers.push(new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url }), new MysqlTarget({ kind: 'mysql', url: mysqlTarget.url }));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(readers.map((r) => r.close()));
    await pipeline?.teardown();
    await mysqlTarget?.drop();
  });

  it('finds the three differences at PostgreSQL, repairs them through the route, then matches; the CLI exit status follows', async () => {
    const opened = await session('items-pg');
    try {
      expect(await verifyRoute(opened, FAST)).toMatchObject({ sourceRows: 40, targetRows: 40, missing: 0, extra: 0, different: 0, settled: true });

      await pipeline.postgres.knex.raw(`UPDATE items SET name = 'changed behind our back' WHERE id = 7`);
      await pipeline.postgres.knex.raw('DELETE FROM items WHERE id = 12');
      await pipeline.postgres.knex.raw(`INSERT INTO items (id, name, amount, doc, updated_at) VALUES (900, 'extra', 1.00, NULL, '2020-01-01 00:00:00')`);

      const found = await verifyRoute(opened, FAST);
      expect(found).toMatchObject({ missing: 1, extra: 1, different: 1, settled: true });
      expect(found.differences.map((d) => [d.kind, d.key.id]).sort()).toEqual([['different', 7], ['extra', 900], ['missing', 12]]);

      const before = await cli('verify', 'items-pg');
      expect({ code: before.code, stderr: before.stderr }).toEqual({ code: 1, stderr: '' });
      expect(before.stdout).toContain('missing 1, extra 1, different 1');
      expect(before.stdout).not.toContain(pipeline.postgres.url);

      // Live writes go on during the repair: they must neither be undone nor reported.
      const writes = (async () => {
        for (let i = 0; i < 20; i++) await pipeline.source.knex.raw('UPDATE items SET amount = amount + 1, updated_at = UTC_TIMESTAMP(6) WHERE id = ?', [1 + (i % 5)]);
      })();
      const repaired = await repairRoute(opened, { ...FAST, applyTimeoutMs: 60_000 });
      await writes;
      expect(repaired).toMatchObject({ status: 'repaired', resent: 3, after: { missing: 0, extra: 0, different: 0 } });

      await pipeline.waitForCatchUp('items-pg');
      expect(await verifyRoute(opened, FAST)).toMatchObject({ sourceRows: 40, targetRows: 40, missing: 0, extra: 0, different: 0 });
      const compared = await pipeline.compare('items', readers[0], 'items');
      expect(compared.target).toEqual(compared.source);

      const after = await cli('verify', 'items-pg');
      expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: '' });
      expect(after.stdout).toContain('target matches the source');
    } finally {
      await opened.close();
    }
  });

  it('repairs the MySQL target over REST: 202 with a running run, one run per route at a time, history newest first', async () => {
    await mysqlTarget.knex.raw(`UPDATE items SET amount = 0.01 WHERE id = 3`);
    await mysqlTarget.knex.raw('DELETE FROM items WHERE id = 30');
    await mysqlTarget.knex.raw(`INSERT INTO items (id, name, amount, doc, updated_at) VALUES (901, 'extra', NULL, NULL, '2020-01-01 00:00:00')`);

    expect((await call('POST', '/api/routes/nope/verify', {})).status).toBe(404);
    expect((await call('GET', '/api/routes/nope/verify-runs')).status).toBe(404);
    expect((await call('GET', '/api/verify-runs/999999')).status).toBe(404);

    const cliBefore = await cli('verify', 'items-my', '--json');
    expect(cliBefore.code).toBe(1);
    expect(JSON.parse(cliBefore.stdout)).toMatchObject({ status: 'differs', missing: 1, extra: 1, different: 1 });

    const started = await call('POST', '/api/routes/items-my/repair', { actor: 'e2e' });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ route: 'items-my', kind: 'repair', status: 'running', requestedBy: 'e2e' });
    const second = await call('POST', '/api/routes/items-my/verify', {});
    expect(second.status).toBe(409);

    const run = await waitFor(
      async () => {
        const answer = await call('GET', `/api/verify-runs/${started.json.id}`);
        return answer.json.status !== 'running' && answer.json;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'the repair run to finish' },
    );
    expect(run).toMatchObject({ status: 'repaired', missing: 1, extra: 1, different: 1, repaired: 3, error: null });
    const sample = run.sample as { differences: Array<{ kind: string; key: { id: number } }> };
    expect(sample.differences.map((d) => [d.kind, d.key.id]).sort()).toEqual([['different', 3], ['extra', 901], ['missing', 30]]);

    const verified = await call('POST', '/api/routes/items-my/verify', {});
    expect(verified.status).toBe(202);
    const done = await waitFor(
      async () => {
        const answer = await call('GET', `/api/verify-runs/${verified.json.id}`);
        return answer.json.status !== 'running' && answer.json;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the verify run to finish' },
    );
    expect(done).toMatchObject({ status: 'matched', missing: 0, extra: 0, different: 0, sourceRows: 40, targetRows: 40 });

    const history = await call('GET', '/api/routes/items-my/verify-runs');
    expect(history.status).toBe(200);
    const ids = (history.json as unknown as Array<{ id: number; kind: string }>).map((r) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(ids.slice(0, 2)).toEqual([verified.json.id, started.json.id]);

    const stored = await new VerifyRunRepository(pipeline.control.knex).get(Number(started.json.id));
    expect(stored?.status).toBe('repaired');
    expect((await cli('verify', 'items-my')).code).toBe(0);
    const compared = await pipeline.compare('items', readers[1], 'items');
    expect(compared.target).toEqual(compared.source);
  });

  it('exits 2 with a one-line reason for an unknown route and for bad arguments', async () => {
    const unknown = await cli('verify', 'no-such-route');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('tributary: no route "no-such-route"');
    const bad = await cli('verify');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('verify needs a route id');
  });
});

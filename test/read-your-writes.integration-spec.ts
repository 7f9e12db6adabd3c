import { randomBytes } from 'node:crypto';
import { adminClient, createPipeline, freePort, ITEMS_DDL, Pipeline, proxyInFrontOf, runCliCommand, TcpProxy, waitFor } from '@tributary/testing';

/**
 * Read-your-writes through the admin API: a writer takes a token after its
 * commit (`SELECT MAX(seq) FROM _tributary_outbox`) and POST /api/wait
 * answers once its routes have applied it — at which moment the row is
 * visible at the target — or 408 with where the route stands. Against the
 * compiled all-in-one app, its PostgreSQL target behind a proxy that goes
 * down for the late case.
 */
const TOKEN = randomBytes(16).toString('hex');

interface WaitAnswer {
  applied: boolean;
  token: number;
  waitedMs: number;
  routes: Array<{ route: string; watermark: number; applied: boolean; status?: { state: string; lag: { changes: number | null } } }>;
  message?: string;
}

describe('read-your-writes: POST /api/wait', () => {
  let pipeline: Pipeline;
  let proxy: TcpProxy;
  let port: number;
  const call = adminClient<WaitAnswer>(() => `http://127.0.0.1:${port}`, TOKEN);

  beforeAll(async () => {
    pipeline = await createPipeline();
    const sick = await proxyInFrontOf(pipeline.postgres.url);
    proxy = sick.proxy;
    const { source, setup } = pipeline;
    await source.knex.raw(ITEMS_DDL);
    await source.knex.raw('CREATE TABLE notes (id INT NOT NULL PRIMARY KEY, body VARCHAR(64) NOT NULL)');
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 'items');
    await setup.captureTable('src', 'notes'); // captured, routed nowhere
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: sick.url, options: {} });
    await setup.addRoute({ id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items', enabled: true });
    port = await freePort();
    pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/live`)).ok, { what: 'the admin to listen', timeoutMs: 30_000 });
    await pipeline.source.knex.raw("INSERT INTO items VALUES (1, 0, 'first', 1.00, NOW(6), NULL)");
    await pipeline.waitForCatchUp('items-pg');
  });

  afterAll(async () => {
    await proxy?.down();
    await pipeline?.teardown();
  });

  /** What a writer does: write (autocommit), then take the token. */
  async function writeAndTakeToken(id: number): Promise<number> {
    await pipeline.source.knex.raw("INSERT INTO items VALUES (?, 0, 'mine', 2.00, NOW(6), NULL)", [id]);
    const [rows] = await pipeline.source.knex.raw('SELECT MAX(seq) AS token FROM _tributary_outbox');
    return Number((rows as Array<{ token: number }>)[0].token);
  }

  const visible = async (id: number) => (await pipeline.postgres.knex('items').where({ id })).length === 1;

  it('answers once the write is visible at the target, for named routes and for a target', async () => {
    const token = await writeAndTakeToken(2);
    const answer = await call('POST', '/api/wait', { source: 'src', token, routes: ['items-pg'], timeoutMs: 10_000 });
    expect(answer.status).toBe(200);
    // Visible the moment the answer came: read right after it, no waiting.
    expect(await visible(2)).toBe(true);
    expect(answer.json).toMatchObject({ applied: true, token, routes: [{ route: 'items-pg', applied: true }] });
    expect(answer.json.routes[0].watermark).toBeGreaterThanOrEqual(token);

    const byTarget = await call('POST', '/api/wait', { source: 'src', token: await writeAndTakeToken(3), target: 'pg' });
    expect(byTarget.status).toBe(200);
    expect(await visible(3)).toBe(true);

    // The same from a shell script: the CLI.
    const env = { TRIBUTARY_ADMIN_URL: `http://127.0.0.1:${port}`, ADMIN_TOKEN: TOKEN };
    const token5 = await writeAndTakeToken(5);
    expect(await runCliCommand(env, 'wait', 'src', String(token5), '--routes', 'items-pg')).toMatchObject({ code: 0, stdout: `applied: items-pg (token ${token5})\n` });
    expect(await visible(5)).toBe(true);
  });

  it('answers for a route the token\'s change does not concern: its position moves past it without a job', async () => {
    await pipeline.source.knex.raw("INSERT INTO notes VALUES (1, 'not for items-pg')");
    const [rows] = await pipeline.source.knex.raw('SELECT MAX(seq) AS token FROM _tributary_outbox');
    const token = Number((rows as Array<{ token: number }>)[0].token);
    const answer = await call('POST', '/api/wait', { source: 'src', token, routes: ['items-pg'], timeoutMs: 10_000 });
    expect(answer.status).toBe(200);
    expect(answer.json.routes[0].watermark).toBeGreaterThanOrEqual(token);
  });

  it('does not wait for an unrelated transaction held open below the token, and still never answers before the row is visible', async () => {
    // Another session's transaction takes a seq and stays open: the watermark cannot pass it.
    const other = await pipeline.source.knex.client.acquireConnection();
    const query = (sql: string) => new Promise((resolve, reject) => other.query(sql, (error: unknown, rows: unknown) => (error ? reject(error) : resolve(rows))));
    try {
      await query('BEGIN');
      await query("INSERT INTO notes VALUES (50, 'held open')");
      const token = await writeAndTakeToken(6);
      const answer = await call('POST', '/api/wait', { source: 'src', token, routes: ['items-pg'], timeoutMs: 15_000 });
      expect(answer.status).toBe(200);
      expect(await visible(6)).toBe(true);
      expect(answer.json).toMatchObject({ applied: true, routes: [{ route: 'items-pg', applied: true }] });
      // Answered by the route's coverage of the source's clock, not its watermark, which the open transaction holds.
      expect(answer.json.routes[0].watermark).toBeLessThan(token);
      const [progress] = await pipeline.progress.listProgress(['items-pg']);
      expect(progress.watermark).toBeLessThan(token);
      expect(progress.coveredMicros).not.toBeNull();
    } finally {
      await query('ROLLBACK').catch(() => undefined);
      await pipeline.source.knex.client.releaseConnection(other);
    }
  });

  it('answers 408 with the route\'s status when the target is down, and wakes every waiter when it is back', async () => {
    await proxy.down();
    try {
      const token = await writeAndTakeToken(4);
      const cli = await runCliCommand({ TRIBUTARY_ADMIN_URL: `http://127.0.0.1:${port}`, ADMIN_TOKEN: TOKEN }, 'wait', 'src', String(token), '--target', 'pg', '--timeout', '1');
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(new RegExp(`^tributary: items-pg has not applied token ${token} within 1 s: at \\d+, `));
      const late = await call('POST', '/api/wait', { source: 'src', token, routes: ['items-pg'], timeoutMs: 1500 });
      expect(late.status).toBe(408);
      expect(late.json).toMatchObject({ applied: false, token, routes: [{ route: 'items-pg', applied: false }] });
      expect(late.json.waitedMs).toBeGreaterThanOrEqual(1400);
      expect(late.json.routes[0].status?.lag.changes).toBeGreaterThan(0);

      // Many clients waiting at once: each is answered when the route catches up, not by polling the databases.
      const waiting = Array.from({ length: 200 }, () => call('POST', '/api/wait', { source: 'src', token, routes: ['items-pg'], timeoutMs: 30_000 }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await proxy.up();
      const answers = await Promise.all(waiting);
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      expect(await visible(4)).toBe(true);
    } finally {
      await proxy.up();
    }
  });

  it('refuses bad requests clearly', async () => {
    const unknown = await call('POST', '/api/wait', { source: 'src', token: 1, routes: ['nope'] });
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toBe('source src has no route nope');
    expect((await call('POST', '/api/wait', { source: 'src', token: 1, routes: ['items-pg'], target: 'pg' })).json.message).toBe('give routes or target (one of them)');
    expect((await call('POST', '/api/wait', { source: 'src', token: 1 })).status).toBe(400);
    const negative = await call('POST', '/api/wait', { source: 'src', token: -1, target: 'pg' });
    expect(negative.status).toBe(400);
    expect(negative.text).toContain('token');
    expect((await call('POST', '/api/wait', { source: 'src', token: 1, target: 'pg', timeoutMs: 3_600_000 })).status).toBe(400);
  });
});

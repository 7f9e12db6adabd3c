import { randomBytes } from 'node:crypto';
import { PostgresTarget } from '@tributary/targets';
import { adminClient, createPipeline, freePort, ITEMS_DDL, Pipeline, proxyInFrontOf, runItemsWorkload, sleep, TcpProxy, waitFor } from '@tributary/testing';

/**
 * The source database goes away from Tributary (a restart, a network cut)
 * while applications keep writing to it: every Tributary connection to the
 * source runs through a TCP proxy that is taken down for a while. The relay
 * and the worker wait and reconnect, the status says what is wrong instead
 * of "running", and once the source is back the target equals it.
 */
const TOKEN = randomBytes(16).toString('hex');

interface RouteStatus {
  route: string;
  state: string;
  stateReason: string | null;
  lag: { changes: number | null; seconds: number | null; error: string | null };
}

describe('the source goes away and comes back', () => {
  let pipeline: Pipeline;
  let proxy: TcpProxy;
  let pg: PostgresTarget;
  let port: number;
  const call = adminClient(() => `http://127.0.0.1:${port}`, TOKEN);

  beforeAll(async () => {
    pipeline = await createPipeline();
    const proxied = await proxyInFrontOf(pipeline.source.url);
    proxy = proxied.proxy;
    const { source, postgres, setup } = pipeline;
    await source.knex.raw(ITEMS_DDL);
    // Tributary knows the source only through the proxy; the applications below write to it directly.
    await setup.addSource('src', proxied.url);
    await setup.captureTable('src', 'items');
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: postgres.url, options: {} });
    await setup.addRoute({ id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items', enabled: true });
    pg = new PostgresTarget({ kind: 'postgres', url: postgres.url });
    port = await freePort();
    pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/live`)).ok, { what: 'the admin to listen', timeoutMs: 30_000 });
  });

  afterAll(async () => {
    await pg?.close();
    await proxy?.down();
    await pipeline?.teardown();
  });

  const status = async () => (await call<RouteStatus>('GET', '/api/routes/items-pg/status')).json;

  it('waits, says why, and catches up exactly', async () => {
    await pipeline.source.knex.raw("INSERT INTO items VALUES (1, 0, 'before', 1.00, NOW(6), NULL)");
    await pipeline.waitForCatchUp('items-pg');
    expect((await status()).state).toBe('running');

    let stop = false;
    const load = runItemsWorkload(pipeline.source.url, { connections: 2, transactionsPerConnection: 100_000, keySpace: 60, stop: () => stop });
    await proxy.down();
    const down = await waitFor(
      async () => {
        const now = await status();
        return now.state !== 'running' && now;
      },
      { what: 'the status to stop saying running', timeoutMs: 30_000 },
    );
    expect(down).toMatchObject({ state: 'failing', stateReason: expect.stringMatching(/^the source cannot be read: .*ECONNREFUSED/) });
    await sleep(5000); // writes go on at the source meanwhile

    await proxy.up();
    stop = true;
    await load;
    await pipeline.waitForCatchUp('items-pg', 120_000);
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(source.length).toBeGreaterThan(1);
    expect(target).toEqual(source);
    await waitFor(async () => (await status()).state === 'running', { what: 'the status to say running again', timeoutMs: 30_000 });
  });
});

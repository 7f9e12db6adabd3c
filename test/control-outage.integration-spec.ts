import { PostgresTarget } from '@tributary/targets';
import { createPipeline, Pipeline, proxyInFrontOf, routeItemsToPostgres, runItemsWorkload, sleep, TcpProxy } from '@tributary/testing';

/**
 * The control database goes away from the relay and the worker for a while
 * (a restart, a network cut) while applications keep writing to the source.
 * The relay's leadership lock lives on a control connection, so the relay
 * loses it and must lead again once the database is back; the worker's
 * progress writes fail and its batches are retried. Nothing is lost or
 * applied out of order: the target ends equal to the source.
 */
describe('the control database goes away and comes back', () => {
  let pipeline: Pipeline;
  let proxy: TcpProxy;
  let pg: PostgresTarget;

  beforeAll(async () => {
    pipeline = await createPipeline();
    await routeItemsToPostgres(pipeline);
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
    const proxied = await proxyInFrontOf(pipeline.control.url);
    proxy = proxied.proxy;
    // Only the apps reach the control database through the proxy; the test reads it directly.
    pipeline.start('relay', { CONTROL_DATABASE_URL: proxied.url });
    pipeline.start('worker', { CONTROL_DATABASE_URL: proxied.url });
  });

  afterAll(async () => {
    await pg?.close();
    await proxy?.down();
    await pipeline?.teardown();
  });

  it('leads again, applies on, and ends equal to the source', async () => {
    await pipeline.source.knex.raw("INSERT INTO items VALUES (1, 0, 'before', 1.00, NOW(6), NULL)");
    await pipeline.waitForCatchUp('items-pg');
    let stop = false;
    const load = runItemsWorkload(pipeline.source.url, { connections: 2, transactionsPerConnection: 100_000, keySpace: 60, stop: () => stop });
    await sleep(1000);
    const before = await pipeline.progress.loadRelayState('src');
    await proxy.down();
    await sleep(5000);
    await proxy.up();
    await sleep(1000);
    stop = true;
    await load;
    await pipeline.waitForCatchUp('items-pg', 120_000);
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(source.length).toBeGreaterThan(1);
    expect(target).toEqual(source);
    // Its lock went with its connection: the relay took the lead again, in a new term.
    const after = await pipeline.progress.loadRelayState('src');
    expect(after!.epoch).toBeGreaterThan(before!.epoch);
  });
});

import IORedis from 'ioredis';
import { PostgresTarget } from '@tributary/targets';
import { createPipeline, freePort, Pipeline, PrivateRedis, routeItemsThroughProxy, routeItemsToPostgres, runItemsWorkload, sleep, startPrivateRedis, TcpProxy, waitFor } from '@tributary/testing';

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  return response.text();
}

function metricValue(metrics: string, name: string): number {
  return metrics
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('Redis loses its data mid-workload (FLUSHALL on a private redis-server)', () => {
  let redis: PrivateRedis;
  let pipeline: Pipeline;
  let pg: PostgresTarget;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    pipeline = await createPipeline({ redisUrl: redis.url });
    await routeItemsToPostgres(pipeline);
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
  });

  afterAll(async () => {
    await pg?.close();
    await pipeline?.teardown();
    await redis?.stop();
  });

  it('re-sends from the route checkpoints: the target ends equal to the source', async () => {
    const adminPort = await freePort();
    pipeline.start('tributary', { ADMIN_PORT: String(adminPort) });
    let stop = false;
    const load = runItemsWorkload(pipeline.source.url, { connections: 3, transactionsPerConnection: 100_000, keySpace: 80, stop: () => stop });
    await waitFor(async () => (await pipeline.progress.listProgress(['items-pg']))[0]?.appliedTotal > 0, { what: 'first changes applied' });
    const client = new IORedis(redis.url);
    await client.flushall();
    client.disconnect();
    await sleep(1000);
    stop = true;
    await load;
    await pipeline.waitForCatchUp('items-pg');
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(source.length).toBeGreaterThan(0);
    expect(target).toEqual(source);
    expect(metricValue(await scrape(adminPort), 'tributary_redis_rewinds_total')).toBeGreaterThanOrEqual(2); // start + FLUSHALL
  });
});

describe('a target that goes down, and a row the target refuses', () => {
  let pipeline: Pipeline;
  let proxy: TcpProxy;
  let pg: PostgresTarget;

  beforeAll(async () => {
    pipeline = await createPipeline();
    // The target has a rule the source does not: negative amounts are refused there.
    proxy = await routeItemsThroughProxy(
      pipeline,
      'src',
      'CREATE TABLE items (id integer PRIMARY KEY, grp integer NOT NULL, name varchar(64) NOT NULL, amount numeric(12,2) CHECK (amount >= 0), noted timestamp(6), payload jsonb)',
    );
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
    pipeline.start('relay');
    pipeline.start('worker');
  });

  afterAll(async () => {
    await pg?.close();
    await proxy?.down();
    await pipeline?.teardown();
  });

  it('retries while the target is down, loses nothing, and catches up when it returns', async () => {
    await pipeline.source.knex.raw("INSERT INTO items VALUES (1, 0, 'before outage', 1.00, NOW(6), NULL)");
    await pipeline.waitForCatchUp('items-pg');

    await proxy.down();
    await runItemsWorkload(pipeline.source.url, { connections: 2, transactionsPerConnection: 60, keySpace: 40 });
    await waitFor(async () => (await pipeline.progress.listProgress(['items-pg']))[0]?.lastError, { what: 'the route to report the outage' });
    const [during] = await pipeline.progress.listProgress(['items-pg']);
    expect(during.lastError).toMatch(/ECONNREFUSED|connect|terminat|timeout/i);

    await proxy.up();
    await pipeline.waitForCatchUp('items-pg');
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(target).toEqual(source);
    const [after] = await pipeline.progress.listProgress(['items-pg']);
    expect(after.lastError).toBeNull();
  });

  it('records a refused row as a dead letter with the reason, and applies the rest of the batch', async () => {
    await pipeline.source.knex.raw(
      "INSERT INTO items VALUES (900, 0, 'fine', 5.00, NOW(6), NULL), (901, 0, 'refused', -5.00, NOW(6), NULL), (902, 0, 'fine too', 7.00, NOW(6), NULL)",
    );
    await pipeline.waitForCatchUp('items-pg');
    const rows = await pipeline.postgres.knex('items').whereIn('id', [900, 901, 902]).orderBy('id');
    expect(rows.map((row) => row.id)).toEqual([900, 902]);
    const letters = await pipeline.deadLetters.list('items-pg', { status: 'all', limit: 500 });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ table: 'items', op: 'insert', code: '23514' });
    expect(letters[0].reason).toMatch(/check constraint/);
    expect((letters[0].change as { after: string }).after).toContain('"refused"');
  });
});

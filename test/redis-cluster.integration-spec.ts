import IORedis from 'ioredis';
import { PostgresTarget } from '@tributary/targets';
import { createRedis } from '@tributary/queue';
import { createPipeline, Pipeline, PrivateRedisCluster, routeItemsToPostgres, runItemsWorkload, startRedisCluster, waitFor } from '@tributary/testing';

/**
 * Tributary on a Redis Cluster (three masters, created by the test with
 * `redis-cli --cluster create`): REDIS_URL=redis-cluster://… names its
 * nodes, every key of a source shares one hash slot (BullMQ's scripts touch
 * many keys of a queue at once), and the cases that hurt on one server hurt
 * no more here: relay and worker SIGKILLed mid-workload, every node's data
 * flushed. The target ends equal to the source.
 */
describe('on a Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let pipeline: Pipeline;
  let pg: PostgresTarget;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    pipeline = await createPipeline({ redisUrl: cluster.url });
    await routeItemsToPostgres(pipeline);
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
  }, 60_000);

  afterAll(async () => {
    await pg?.close();
    await pipeline?.teardown();
    await cluster?.stop();
  });

  async function exists(key: string): Promise<boolean> {
    const client = createRedis(cluster.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await client.connect();
      return (await client.exists(key)) === 1;
    } finally {
      client.disconnect();
    }
  }

  /** Every key the deployment wrote, with the slot each node says it hashes to. */
  async function keysBySlot(): Promise<Map<number, string[]>> {
    const slots = new Map<number, string[]>();
    for (const port of cluster.ports) {
      const node = new IORedis(port, '127.0.0.1');
      try {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${pipeline.prefix}:*`, 'COUNT', 1000);
          cursor = next;
          for (const key of keys) {
            const slot = Number(await node.cluster('KEYSLOT', key));
            slots.set(slot, [...(slots.get(slot) ?? []), key]);
          }
        } while (cursor !== '0');
      } finally {
        node.disconnect();
      }
    }
    return slots;
  }

  it('replicates through kills and a flushed cluster, keeping a source in one slot, and ends equal to the source', async () => {
    let relay = pipeline.start('relay');
    let worker = pipeline.start('worker');
    let stop = false;
    const load = runItemsWorkload(pipeline.source.url, { connections: 3, transactionsPerConnection: 100_000, keySpace: 80, stop: () => stop });
    await waitFor(async () => (await pipeline.progress.listProgress(['items-pg']))[0]?.appliedTotal > 0, { what: 'first changes applied', timeoutMs: 30_000 });

    // The queue, its jobs and the relay's loss marker: one slot (the {source-src} hash tag).
    const slots = await keysBySlot();
    expect([...slots.values()].flat().some((key) => key.includes('relay-marker'))).toBe(true);
    expect(slots.size).toBe(1);

    await relay.kill('SIGKILL');
    await worker.kill('SIGKILL');
    // Info logs: the new relay says when it finds no marker at its start as well as when its marker vanishes later.
    relay = pipeline.start('relay', { LOG_LEVEL: 'info' });
    worker = pipeline.start('worker');
    // Flushed once the new relay leads and a marker is there. It may still be starting: if it looks for the
    // marker after the flush, it finds none at its start and re-reads every route from its checkpoint just
    // the same.
    const pid = relay.child.pid;
    const marker = `${pipeline.prefix}:{source-src}:relay-marker`;
    await waitFor(async () => Boolean((await pipeline.progress.loadRelayState('src'))?.leader?.includes(`:${pid}:`)) && (await exists(marker)), {
      what: 'the new relay to lead and mark',
      timeoutMs: 30_000,
    });
    await cluster.flushAll();
    // The relay sees its marker gone and sends every route's changes again from its checkpoint.
    await waitFor(async () => /Redis marker vanished|no marker in Redis at start/.test(relay.output()), {
      what: 'the relay to notice the flushed cluster',
      timeoutMs: 30_000,
    });
    stop = true;
    await load;
    await pipeline.waitForCatchUp('items-pg', 120_000);
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(source.length).toBeGreaterThan(0);
    expect(target).toEqual(source);
  });
});

import { TEST_REDIS_URL, uniqueName, waitFor } from '@tributary/testing';
import { announceApplied, announceConfigChange, announceJobDone, announceLeaseReleased, appliedChannel, jobsDoneChannel, leaseReleasedChannel, SignalListener } from './signals';
import { createRedis, RedisClient } from './redis';

describe('signals between processes (real Redis pub/sub)', () => {
  let redis: RedisClient;

  beforeAll(() => {
    redis = createRedis(TEST_REDIS_URL);
  });

  afterAll(() => {
    redis.disconnect();
  });

  it("reaches the listener of the same prefix with the job's source and id, and nothing else does", async () => {
    const prefix = uniqueName('sig');
    const heard: Array<[string, string]> = [];
    const others: Array<[string, string]> = [];
    const listener = new SignalListener(redis, prefix, { jobDone: (sourceId, jobId) => heard.push([sourceId, jobId]) });
    const elsewhere = new SignalListener(redis, `${prefix}x`, { jobDone: (sourceId, jobId) => others.push([sourceId, jobId]) });
    try {
      await listener.start();
      await elsewhere.start();
      // Not a signal (a stray publisher): ignored, never a crash.
      await redis.publish(jobsDoneChannel(prefix), 'not json');
      await redis.publish(jobsDoneChannel(prefix), JSON.stringify({ sourceId: 'a' }));
      await announceJobDone(redis, prefix, 'shop-1', 'orders-pg.s1-9-n1-w9');
      await announceJobDone(redis, prefix, 'shop-2', 'items.w4');
      await waitFor(async () => heard.length === 2, { what: 'two signals' });
      expect(heard).toEqual([
        ['shop-1', 'orders-pg.s1-9-n1-w9'],
        ['shop-2', 'items.w4'],
      ]);
      expect(others).toEqual([]);
    } finally {
      listener.close();
      elsewhere.close();
    }
  });

  it('tells a listener of config changes, on the same connection as job-done signals, and only the listeners that asked', async () => {
    const prefix = uniqueName('sig');
    const heard: string[] = [];
    const jobsOnly: string[] = [];
    const listener = new SignalListener(redis, prefix, { jobDone: (_, jobId) => heard.push(jobId), configChanged: () => heard.push('config') });
    const jobListener = new SignalListener(redis, prefix, { jobDone: (_, jobId) => jobsOnly.push(jobId) });
    try {
      await listener.start();
      await jobListener.start();
      await announceConfigChange(redis, prefix);
      await announceJobDone(redis, prefix, 'shop-1', 'j1');
      await waitFor(async () => heard.length === 2 && jobsOnly.length === 1, { what: 'a config change and a job done' });
      expect(heard).toEqual(['config', 'j1']);
      expect(jobsOnly).toEqual(['j1']);
    } finally {
      listener.close();
      jobListener.close();
    }
  });

  it('tells a listener which source lost its leader, and ignores a message that is not one', async () => {
    const prefix = uniqueName('sig');
    const released: string[] = [];
    const listener = new SignalListener(redis, prefix, { leaseReleased: (sourceId) => released.push(sourceId) });
    try {
      await listener.start();
      await redis.publish(leaseReleasedChannel(prefix), JSON.stringify(['a', 'b'])); // two strings: not a release
      await announceLeaseReleased(redis, prefix, 'shop-1');
      await waitFor(async () => released.length === 1, { what: 'a lease release' });
      expect(released).toEqual(['shop-1']);
    } finally {
      listener.close();
    }
  });

  it('tells a listener that a route applied up to a watermark, and ignores a message that is not one', async () => {
    const prefix = uniqueName('sig');
    const applied: Array<[string, number]> = [];
    const listener = new SignalListener(redis, prefix, { applied: (routeId, watermark) => applied.push([routeId, watermark]) });
    try {
      await listener.start();
      await redis.publish(appliedChannel(prefix), JSON.stringify(['twelve', 'orders-pg']));
      await announceApplied(redis, prefix, ['orders-pg'], 9007199254740);
      await announceApplied(redis, prefix, ['items-pg', 'notes-pg'], 12);
      await waitFor(async () => applied.length === 3, { what: 'the applied signals' });
      expect(applied).toEqual([
        ['orders-pg', 9007199254740],
        ['items-pg', 12],
        ['notes-pg', 12],
      ]);
    } finally {
      listener.close();
    }
  });
});

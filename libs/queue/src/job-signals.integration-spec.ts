import { Redis } from 'ioredis';
import { TEST_REDIS_URL, uniqueName, waitFor } from '@tributary/testing';
import { announceJobDone, JobDoneListener, jobsDoneChannel } from './job-signals';
import { createRedis } from './redis';

describe('job-done signals (real Redis pub/sub)', () => {
  let redis: Redis;

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
    const listener = new JobDoneListener(redis, prefix, (sourceId, jobId) => heard.push([sourceId, jobId]));
    const elsewhere = new JobDoneListener(redis, `${prefix}x`, (sourceId, jobId) => others.push([sourceId, jobId]));
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
});

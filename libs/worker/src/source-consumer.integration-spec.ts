import { Job } from 'bullmq';
import { createLogger } from '@tributary/logger';
import { CHANGE_JOB_NAME, createRedis, QueuedJobData, QueueRegistry, RangeJobData } from '@tributary/queue';
import { TEST_REDIS_URL, uniqueName, waitFor } from '@tributary/testing';
import { RouteConsumer } from './route-consumer';
import { RouteNotReadyError, SourceConsumer } from './source-consumer';

/** A route consumer that only records the jobs it is handed. */
function recordingConsumer(applied: string[]): RouteConsumer {
  return {
    owns: (data: QueuedJobData) => 'table' in data && data.table === 't',
    process: async (job: Job<QueuedJobData>) => void applied.push(job.id!),
  } as unknown as RouteConsumer;
}

describe('SourceConsumer (real Redis)', () => {
  const prefix = uniqueName('trib_sc');
  const redis = createRedis(TEST_REDIS_URL);
  const queues = new QueueRegistry(redis, prefix);
  const job = (routeId: string, table = 't'): RangeJobData => ({ v: 2, kind: 'range', sourceId: 'src', routeId, table, ranges: [{ from: 1, to: 1 }], watermark: 1 });

  afterAll(async () => {
    await queues.queueFor('src').obliterate({ force: true });
    await queues.close();
    redis.disconnect();
  });

  it('keeps a job whose route cannot be told now (it is retried, never dropped), and drops those of routes that are gone', async () => {
    const applied: string[] = [];
    let answers = 0;
    const consumer = new SourceConsumer('src', {
      connection: redis,
      prefix,
      concurrency: 4,
      logger: createLogger('silent'),
      routeConsumer: async (routeId) => {
        if (routeId === 'gone') return null;
        // The first asks find the route list unreadable.
        if (answers++ < 2) throw new RouteNotReadyError('the route list could not be read');
        return recordingConsumer(applied);
      },
      transactionJob: () => Promise.reject(new Error('no transaction jobs in this test')),
    });
    try {
      const queue = queues.queueFor('src');
      await queue.add(CHANGE_JOB_NAME, job('r1'), { jobId: 'r1.a' });
      await queue.add(CHANGE_JOB_NAME, job('gone'), { jobId: 'gone.a' });
      await queue.add(CHANGE_JOB_NAME, job('r1', 'other'), { jobId: 'r1.stale' });
      await waitFor(async () => applied.includes('r1.a'), { timeoutMs: 15_000, what: 'the job to be applied once its route can be told' });
      expect(answers).toBeGreaterThanOrEqual(3);
      await waitFor(async () => (await queue.getJobState('gone.a')) === 'completed' && (await queue.getJobState('r1.stale')) === 'completed', {
        what: 'the jobs of a gone route and of another route with the same id to be dropped',
      });
      expect(applied).toEqual(['r1.a']);
    } finally {
      await consumer.close();
    }
  });
});

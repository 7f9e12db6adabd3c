import { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Logger } from '@tributary/logger';
import { QueuedJobData, sourceQueueName } from '@tributary/queue';
import { RouteConsumer } from './route-consumer';

export interface SourceConsumerDeps {
  connection: Redis;
  prefix: string;
  /** Jobs applied at once (each is one route's; a route's own jobs never overlap). */
  concurrency: number;
  logger: Logger;
  /** The consumer of a route, after the worker re-read the configuration if it did not know the route. */
  routeConsumer(routeId: string): Promise<RouteConsumer | null>;
}

/**
 * Takes the jobs of one source's queue — every route of the source shares
 * it — and hands each to its route's consumer: one BullMQ worker and one
 * blocking Redis connection per source, whatever the number of routes. A
 * route that fails or is paused puts its job back delayed, so it never
 * holds a slot that another route needs for longer than one attempt.
 */
export class SourceConsumer {
  private readonly worker: Worker<QueuedJobData>;
  private readonly logger: Logger;

  constructor(
    readonly sourceId: string,
    private readonly deps: SourceConsumerDeps,
  ) {
    this.logger = deps.logger.child({ source: sourceId, component: 'worker' });
    this.worker = new Worker<QueuedJobData>(sourceQueueName(sourceId), (job, token) => this.process(job, token), {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency,
      // A worker killed mid-batch leaves its job active; it returns to the
      // queue after the lock expires. Never fail a job for stalling: that
      // would drop its changes from the route.
      lockDuration: 15_000,
      stalledInterval: 5_000,
      maxStalledCount: Number.MAX_SAFE_INTEGER,
    });
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'queue connection error'));
  }

  async close(): Promise<void> {
    await this.worker.close();
  }

  private async process(job: Job<QueuedJobData>, token: string | undefined): Promise<void> {
    const consumer = await this.deps.routeConsumer(job.data.routeId);
    if (!consumer || !consumer.owns(job.data)) {
      // Its route is gone (or is another route now): the job is done with. Nothing is lost: a
      // route's changes stay in the outbox until its own jobs applied them.
      this.logger.warn({ job: job.id, route: job.data.routeId, table: job.data.table }, 'job of a route that no longer exists dropped');
      return;
    }
    await consumer.process(job, token);
  }
}

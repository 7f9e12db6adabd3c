import { DelayedError, Job, Worker } from 'bullmq';
import { Logger } from '@tributary/logger';
import { announceJobDone, QueuedJobData, RedisClient, RouteQueuedJobData, sourceQueueName, TransactionJobData } from '@tributary/queue';
import { RouteConsumer } from './route-consumer';

/** The worker cannot tell now whether a job's route exists (routeConsumer): the job waits. */
export class RouteNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteNotReadyError';
  }
}

/** How long a job whose route cannot be told waits before it is looked at again. */
const NOT_READY_RETRY_MS = 2_000;

export interface SourceConsumerDeps {
  connection: RedisClient;
  prefix: string;
  /** Jobs applied at once (each is one route's; a route's own jobs never overlap). */
  concurrency: number;
  logger: Logger;
  /**
   * The consumer of a route, after the worker re-read the configuration if it did not know the route
   * (or `reread`); null if the route no longer exists. @throws RouteNotReadyError when that cannot be told now.
   */
  routeConsumer(routeId: string, reread?: boolean): Promise<RouteConsumer | null>;
  /** Applies a transaction job (several routes into a transactional target). @throws RouteNotReadyError like routeConsumer. */
  transactionJob(job: Job<TransactionJobData>, token: string | undefined): Promise<void>;
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
    // The relay gives a route its next job only once this one is done: tell it at once.
    this.worker.on('completed', (job) => {
      if (job.id === undefined || job.data.v !== 2 || (job.data.kind !== 'range' && job.data.kind !== 'transaction')) return;
      announceJobDone(deps.connection, deps.prefix, sourceId, job.id).catch((error) =>
        this.logger.debug({ err: error, job: job.id }, 'could not announce a finished job; the relay finds out at its next look'),
      );
    });
  }

  async close(): Promise<void> {
    await this.worker.close();
  }

  private async process(job: Job<QueuedJobData>, token: string | undefined): Promise<void> {
    const data = job.data;
    if (data.v === 2 && data.kind === 'transaction') {
      try {
        return await this.deps.transactionJob(job as Job<TransactionJobData>, token);
      } catch (error) {
        if (!(error instanceof RouteNotReadyError)) throw error;
        return this.notReady(job, token, error, data.routes.map((route) => route.routeId).join(','));
      }
    }
    return this.processRouteJob(job as Job<RouteQueuedJobData>, token);
  }

  /** The job cannot be told to belong to a route now: it waits, and is looked at again. */
  private async notReady(job: Job<QueuedJobData>, token: string | undefined, error: RouteNotReadyError, route: string): Promise<never> {
    this.logger.warn({ job: job.id, route, retryInMs: NOT_READY_RETRY_MS }, error.message);
    await job.moveToDelayed(Date.now() + NOT_READY_RETRY_MS, token);
    throw new DelayedError();
  }

  private async processRouteJob(job: Job<RouteQueuedJobData>, token: string | undefined): Promise<void> {
    let consumer: RouteConsumer | null;
    try {
      consumer = await this.deps.routeConsumer(job.data.routeId);
      // Made for another configuration of the route (e.g. its partitions) than this worker knows: read it again first.
      if (consumer && !consumer.owns(job.data)) consumer = await this.deps.routeConsumer(job.data.routeId, true);
    } catch (error) {
      if (!(error instanceof RouteNotReadyError)) throw error;
      return this.notReady(job, token, error, job.data.routeId);
    }
    if (!consumer || !consumer.owns(job.data)) {
      // Its route is gone (or is another route, or cut into other partitions, now): the job is done with.
      // Nothing is lost: a route's changes stay in the outbox until its own jobs applied them.
      this.logger.warn({ job: job.id, route: job.data.routeId, table: job.data.table }, 'job of a route that no longer exists as it was made for dropped');
      return;
    }
    await consumer.process(job, token);
  }
}

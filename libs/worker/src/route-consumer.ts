import { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { RouteRecord, TargetRecord } from '@tributary/control';
import { Logger } from '@tributary/logger';
import { QueuedJobData, QueueRegistry, routeQueueName, upgradeJob } from '@tributary/queue';
import { BatchApplier, BatchApplierDeps } from './batch-applier';

export interface RouteConsumerDeps extends BatchApplierDeps {
  connection: Redis;
  prefix: string;
  queues: QueueRegistry;
  logger: Logger;
  retryMinMs: number;
  retryMaxMs: number;
}

/**
 * Takes one route's jobs from its queue in order (concurrency 1 across all
 * worker processes: invariant 5) and hands them to its BatchApplier.
 * A failing target never skips a change: the job goes back to the head of
 * the queue and the route waits with growing backoff (lag grows, nothing is
 * lost). Only rows the target refuses for good become dead letters.
 */
export class RouteConsumer {
  private readonly worker: Worker<QueuedJobData>;
  private readonly applier: BatchApplier;
  private failures = 0;
  private readonly logger: Logger;

  constructor(
    private route: RouteRecord,
    target: TargetRecord,
    private readonly deps: RouteConsumerDeps,
  ) {
    this.logger = deps.logger.child({ route: route.id, component: 'worker' });
    this.applier = new BatchApplier(route, target, deps, this.logger);
    this.worker = new Worker<QueuedJobData>(routeQueueName(route.id), (job) => this.process(job), {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: 1,
      // A worker killed mid-batch leaves its job active; it returns to the
      // queue after the lock expires. Never fail a job for stalling: that
      // would drop its changes from the route.
      lockDuration: 15_000,
      stalledInterval: 5_000,
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      autorun: route.enabled,
    });
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'queue connection error'));
    // One active job per route across all worker processes: a job left active
    // by a killed worker blocks the route until it is back at the head of the
    // queue, so a later job can never move the checkpoint past it (invariant 5).
    void deps.queues
      .queueFor(route.id)
      .setGlobalConcurrency(1)
      .catch((error) => this.logger.error({ err: error }, 'could not set the route queue to one job at a time'));
  }

  get routeId(): string {
    return this.route.id;
  }

  /** Follows configuration changes: pause/resume, a new target or target table, a new filter or mapping. */
  update(route: RouteRecord, target: TargetRecord): void {
    this.applier.configure(route, target);
    this.route = route;
    // BullMQ's main loop ends on pause (isRunning() turns false while isPaused() stays true),
    // so a paused worker must be resumed — run() alone would return at once, still paused.
    if (route.enabled && this.worker.isPaused()) this.worker.resume();
    else if (route.enabled && !this.worker.isRunning()) {
      this.worker.run().catch((error) => this.logger.error({ err: error }, 'route worker stopped'));
    } else if (!route.enabled && !this.worker.isPaused()) {
      this.worker.pause().catch((error) => this.logger.error({ err: error }, 'could not pause the route worker'));
    }
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.applier.settle().catch((error) => this.logger.warn({ err: error }, 'the last progress mirror was not written; a restart re-sends what it covered'));
  }

  private async process(job: Job<QueuedJobData>): Promise<void> {
    try {
      const data = upgradeJob(job.data);
      if (data.kind === 'range') await this.applier.applyRanges(data);
      else if (data.kind === 'retry' || data.kind === 'resolution') await this.applier.apply({ ...data, watermark: 0 });
      else await this.applier.apply(data);
      this.failures = 0;
    } catch (error) {
      this.failures++;
      const delay = Math.min(this.deps.retryMaxMs, this.deps.retryMinMs * 2 ** Math.min(this.failures - 1, 20));
      this.logger.warn(
        { err: error, job: job.id, retryInMs: delay, failures: this.failures },
        'batch not applied; will retry in order',
      );
      this.deps.metrics.retries.inc({ route: this.route.id });
      // A progress write still in flight clears the route's error: it must land before the error is recorded.
      await this.applier.settle().catch(() => undefined);
      await this.deps.progress.recordRouteError(this.route.id, String((error as Error).message ?? error)).catch(() => undefined);
      // Back to the head of the queue, not to the end: order is kept (invariant 5).
      await this.deps.queues.queueFor(this.route.id).rateLimit(delay);
      throw Worker.RateLimitError();
    }
  }

}

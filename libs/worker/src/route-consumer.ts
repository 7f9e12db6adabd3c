import { DelayedError, Job } from 'bullmq';
import { RouteRecord, TargetRecord } from '@tributary/control';
import { Logger } from '@tributary/logger';
import { QueuedJobData, upgradeJob } from '@tributary/queue';
import { BatchApplier, BatchApplierDeps } from './batch-applier';

export interface RouteConsumerDeps extends BatchApplierDeps {
  logger: Logger;
  retryMinMs: number;
  retryMaxMs: number;
}

/** How long a job of a paused route waits before it looks again (resuming takes effect within this). */
const PAUSED_RECHECK_MS = 1_000;

/**
 * Applies one route's jobs, as its source's consumer hands them over, with
 * its BatchApplier; one at a time in this process. A failing target never
 * skips a change: the job is put back, delayed with growing backoff, and the
 * route waits (lag grows, nothing is lost, the relay gives it no other job
 * meanwhile). Other routes of the source go on. Only rows the target refuses
 * for good become dead letters.
 */
export class RouteConsumer {
  private readonly applier: BatchApplier;
  private failures = 0;
  private readonly logger: Logger;
  /** The job being applied (the route's jobs never overlap in this process). */
  private running: Promise<void> = Promise.resolve();

  constructor(
    private route: RouteRecord,
    target: TargetRecord,
    private readonly deps: RouteConsumerDeps,
  ) {
    this.logger = deps.logger.child({ route: route.id, component: 'worker' });
    this.applier = new BatchApplier(route, target, deps, this.logger);
  }

  get routeId(): string {
    return this.route.id;
  }

  /** Whether a job was made for this route (a job a deleted route of the same id left behind is not). */
  owns(data: QueuedJobData): boolean {
    return data.sourceId === this.route.sourceId && data.table === this.route.table;
  }

  /** Follows configuration changes: pause/resume, a new target or target table, a new filter or mapping. */
  update(route: RouteRecord, target: TargetRecord): void {
    this.applier.configure(route, target);
    this.route = route;
  }

  /** Waits for the job in hand, then for its progress to be mirrored. */
  async close(): Promise<void> {
    await this.running;
    await this.applier.settle().catch((error) => this.logger.warn({ err: error }, 'the last progress mirror was not written; a restart re-sends what it covered'));
  }

  /**
   * Applies `job`, or puts it back delayed (paused route, or a failure: the
   * DelayedError tells BullMQ it is neither done nor failed).
   */
  process(job: Job<QueuedJobData>, token: string | undefined): Promise<void> {
    const turn = this.running.then(() => this.apply(job, token));
    this.running = turn.catch(() => undefined);
    return turn;
  }

  private async apply(job: Job<QueuedJobData>, token: string | undefined): Promise<void> {
    if (!this.route.enabled) {
      await job.moveToDelayed(Date.now() + PAUSED_RECHECK_MS, token);
      throw new DelayedError();
    }
    try {
      const data = upgradeJob(job.data);
      if (data.kind === 'range') await this.applier.applyRanges(data);
      else if (data.kind === 'retry' || data.kind === 'resolution') await this.applier.apply({ ...data, watermark: 0 });
      else await this.applier.apply(data);
      this.failures = 0;
    } catch (error) {
      this.failures++;
      const delay = Math.min(this.deps.retryMaxMs, this.deps.retryMinMs * 2 ** Math.min(this.failures - 1, 20));
      this.logger.warn({ err: error, job: job.id, retryInMs: delay, failures: this.failures }, 'batch not applied; will retry in order');
      this.deps.metrics.retries.inc({ route: this.route.id });
      // A progress write still in flight clears the route's error: it must land before the error is recorded.
      await this.applier.settle().catch(() => undefined);
      await this.deps.progress.recordRouteError(this.route.id, String((error as Error).message ?? error)).catch(() => undefined);
      // Back later, still the route's only range job: order is kept (invariant 5).
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
  }
}

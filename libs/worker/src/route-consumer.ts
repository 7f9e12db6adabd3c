import { DelayedError, Job } from 'bullmq';
import { RouteRecord, TargetRecord } from '@tributary/control';
import { Logger } from '@tributary/logger';
import { RouteQueuedJobData, upgradeJob } from '@tributary/queue';
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
 * its BatchApplier; one at a time in this process — per partition for a
 * partitioned route, whose partitions each have their own applier and run
 * side by side. A failing target never skips a change: the job is put back,
 * delayed with growing backoff, and the route waits (lag grows, nothing is
 * lost, the relay gives it no other job meanwhile). Other routes of the
 * source go on. Only rows the target refuses for good become dead letters.
 */
export class RouteConsumer {
  /** One per partition (index 0 only for an unpartitioned route); retries and decisions use partition 0's. */
  private appliers: BatchApplier[];
  /** Failed attempts in a row, per partition: the backoff of one does not reset with another's success. */
  private readonly failures = new Map<number, number>();
  private readonly logger: Logger;
  /** The job being applied per partition (a partition's jobs never overlap in this process). */
  private readonly running = new Map<number, Promise<void>>();

  constructor(
    private route: RouteRecord,
    private target: TargetRecord,
    private readonly deps: RouteConsumerDeps,
  ) {
    this.logger = deps.logger.child({ route: route.id, component: 'worker' });
    this.appliers = this.appliersFor(route, target);
  }

  get routeId(): string {
    return this.route.id;
  }

  get enabled(): boolean {
    return this.route.enabled;
  }

  get targetRecord(): TargetRecord {
    return this.target;
  }

  /** The applier of the whole route (a transaction job's part of it; such a route is never partitioned). */
  get wholeRouteApplier(): BatchApplier {
    return this.appliers[0];
  }

  /** Whether a transaction job's entry (`sourceId`, `table`) is this route as configured now. */
  isRouteOf(sourceId: string, table: string): boolean {
    return sourceId === this.route.sourceId && table === this.route.table && (this.route.partitions ?? 1) <= 1;
  }

  /**
   * Whether a job was made for this route as it is configured now: a job a
   * deleted route of the same id left behind is not, nor a range job cut for
   * another number of partitions (the relay's new feeds start from the
   * progress the change of partitions left, so they cover its changes).
   */
  owns(data: RouteQueuedJobData): boolean {
    if (data.sourceId !== this.route.sourceId || data.table !== this.route.table) return false;
    if (data.v !== 2 || data.kind !== 'range') return true;
    return (data.partition?.count ?? 1) === this.partitionCount;
  }

  /** Follows configuration changes: pause/resume, a new target or target table, a new filter or mapping, new partitions. */
  update(route: RouteRecord, target: TargetRecord): void {
    if ((route.partitions ?? 1) !== this.partitionCount) {
      // Jobs of the old partitions still in hand finish with their appliers; new jobs get new ones.
      this.appliers = this.appliersFor(route, target);
    } else {
      for (const applier of this.appliers) applier.configure(route, target);
    }
    this.route = route;
    this.target = target;
  }

  /** Waits for the jobs in hand, then for their progress to be mirrored. */
  async close(): Promise<void> {
    await Promise.all(this.running.values());
    await Promise.all(
      this.appliers.map((applier) =>
        applier.settle().catch((error) => this.logger.warn({ err: error }, 'the last progress mirror was not written; a restart re-sends what it covered')),
      ),
    );
  }

  /**
   * Applies `job`, or puts it back delayed (paused route, or a failure: the
   * DelayedError tells BullMQ it is neither done nor failed).
   */
  process(job: Job<RouteQueuedJobData>, token: string | undefined): Promise<void> {
    const data = job.data;
    const index = data.v === 2 && data.kind === 'range' ? (data.partition?.index ?? 0) : 0;
    const applier = this.appliers[index] ?? this.appliers[0];
    const turn = (this.running.get(index) ?? Promise.resolve()).then(() => this.apply(index, applier, job, token));
    this.running.set(index, turn.catch(() => undefined));
    return turn;
  }

  private get partitionCount(): number {
    return this.appliers.length;
  }

  private appliersFor(route: RouteRecord, target: TargetRecord): BatchApplier[] {
    const count = route.partitions ?? 1;
    if (count <= 1) return [new BatchApplier(route, target, this.deps, this.logger)];
    return Array.from({ length: count }, (_, index) => new BatchApplier(route, target, this.deps, this.logger.child({ partition: index }), { index, count }));
  }

  private async apply(index: number, applier: BatchApplier, job: Job<RouteQueuedJobData>, token: string | undefined): Promise<void> {
    if (!this.route.enabled) {
      await job.moveToDelayed(Date.now() + PAUSED_RECHECK_MS, token);
      throw new DelayedError();
    }
    try {
      const data = upgradeJob(job.data);
      if (data.kind === 'range') await applier.applyRanges(data);
      else if (data.kind === 'retry' || data.kind === 'resolution') await applier.apply({ ...data, watermark: 0 });
      else await applier.apply(data);
      this.failures.delete(index);
    } catch (error) {
      const failures = (this.failures.get(index) ?? 0) + 1;
      this.failures.set(index, failures);
      const delay = Math.min(this.deps.retryMaxMs, this.deps.retryMinMs * 2 ** Math.min(failures - 1, 20));
      this.logger.warn({ err: error, job: job.id, feed: applier.feed, retryInMs: delay, failures }, 'batch not applied; will retry in order');
      this.deps.metrics.retries.inc({ route: this.route.id });
      // A progress write still in flight clears the feed's error: it must land before the error is recorded.
      await applier.settle().catch(() => undefined);
      await this.deps.progress.recordRouteError(applier.feed, String((error as Error).message ?? error)).catch(() => undefined);
      // Back later, still the feed's only range job: order is kept (invariant 5).
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
  }
}

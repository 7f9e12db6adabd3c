import { DelayedError, Job } from 'bullmq';
import { ProgressRepository } from '@tributary/control';
import { Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { TransactionJobData } from '@tributary/queue';
import { RouteConsumer } from './route-consumer';
import { SourceOutboxes } from './source-outboxes';
import { TargetPool } from './target-pool';
import { TransactionApplier } from './transaction-applier';

export interface TransactionConsumerDeps {
  targets: TargetPool;
  outboxes: SourceOutboxes;
  progress: ProgressRepository;
  metrics: Metrics;
  logger: Logger;
  retryMinMs: number;
  retryMaxMs: number;
  batchRows: number;
}

/** How long a job with a paused route waits before it looks again (the relay leaves a paused route out of the next one). */
const PAUSED_RECHECK_MS = 1_000;

/**
 * Applies the transaction jobs of one source into one transactional target
 * (TransactionApplier), one at a time, and retries a failed one in order
 * with growing backoff: every route of the job shows the error, none moves
 * on (a refused row holds back the whole stream, not only its table —
 * the price of atomicity). Other targets' routes of the source go on.
 */
export class TransactionConsumer {
  private failures = 0;
  private running: Promise<void> = Promise.resolve();
  private readonly applier: TransactionApplier;
  private readonly logger: Logger;

  constructor(
    readonly targetId: string,
    private readonly deps: TransactionConsumerDeps,
  ) {
    this.logger = deps.logger.child({ target: targetId, component: 'worker' });
    this.applier = new TransactionApplier(this.logger, deps.metrics, deps.batchRows);
  }

  /** Applies `job` with the consumers of its routes that still exist (`members`), or puts it back delayed. */
  process(job: Job<TransactionJobData>, token: string | undefined, members: readonly RouteConsumer[]): Promise<void> {
    const turn = this.running.then(() => this.apply(job, token, members));
    this.running = turn.catch(() => undefined);
    return turn;
  }

  /** Waits for the job in hand. */
  async close(): Promise<void> {
    await this.running;
  }

  private async apply(job: Job<TransactionJobData>, token: string | undefined, members: readonly RouteConsumer[]): Promise<void> {
    if (members.some((member) => !member.enabled)) {
      await job.moveToDelayed(Date.now() + PAUSED_RECHECK_MS, token);
      throw new DelayedError();
    }
    const appliers = members.map((member) => member.wholeRouteApplier);
    try {
      const target = await this.deps.targets.get(members[0].targetRecord);
      await this.applier.apply(job.data, target, this.deps.outboxes.get(job.data.sourceId), appliers);
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      const delay = Math.min(this.deps.retryMaxMs, this.deps.retryMinMs * 2 ** Math.min(this.failures - 1, 20));
      const message = String((error as Error).message ?? error);
      this.logger.warn({ err: error, job: job.id, routes: job.data.routes.map((r) => r.routeId), retryInMs: delay, failures: this.failures }, 'transaction not applied; will retry in order');
      for (const applier of appliers) {
        this.deps.metrics.retries.inc({ route: applier.feed });
        await applier.settle().catch(() => undefined);
        await this.deps.progress.recordRouteError(applier.feed, message).catch(() => undefined);
      }
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
  }
}

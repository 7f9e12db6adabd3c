import { Inject, Injectable } from '@nestjs/common';
import { CatalogRepository, DeadLetterRecord, DeadLetterRepository } from '@tributary/control';
import { LOGGER, Logger } from '@tributary/logger';
import { QueueRegistry } from '@tributary/queue';
import { jobOfNote } from './retry-chunks';
import { RetryEnqueuer } from './retry-enqueuer';

/** A retry still unresolved after this long has its job checked. */
export const RETRY_STALE_SECONDS = 300;
/** Letters looked at per sweep. */
const SWEEP_LIMIT = 1000;
/** Job states in which a retry is still on its way (e.g. its route is paused). */
const PENDING = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused']);

/**
 * Redis is never the only copy (invariant 1): a retry job lives in Redis, so
 * letters marked retrying would stay so forever if Redis lost the job. The
 * watchdog finds letters retrying for more than RETRY_STALE_SECONDS whose
 * job is no longer queued, and sends them again (reapplying is idempotent).
 */
@Injectable()
export class RetryWatchdog {
  private readonly logger: Logger;

  constructor(
    @Inject(LOGGER) logger: Logger,
    private readonly catalog: CatalogRepository,
    private readonly deadLetters: DeadLetterRepository,
    private readonly queues: QueueRegistry,
    private readonly enqueuer: RetryEnqueuer,
  ) {
    this.logger = logger.child({ component: 'dead-letter-retry' });
  }

  /** Returns how many letters were sent again. */
  async sweep(): Promise<number> {
    const stale = await this.deadLetters.staleRetrying(RETRY_STALE_SECONDS, SWEEP_LIMIT);
    const groups = new Map<string, DeadLetterRecord[]>();
    for (const letter of stale) {
      const key = `${letter.routeId}\0${letter.resolutionNote ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), letter]);
    }
    let resent = 0;
    for (const letters of groups.values()) {
      const { routeId, resolutionNote } = letters[0];
      const lostJob = jobOfNote(resolutionNote);
      const route = await this.catalog.getRoute(routeId);
      if (!route || !lostJob || (await this.stillQueued(route.sourceId, lostJob))) continue;
      const queued = await this.enqueuer.resend(route, letters, lostJob);
      if (!queued) continue;
      resent += queued.letters.length;
      this.logger.warn(
        { route: routeId, seq: queued.letters[0].seq, lastSeq: queued.letters[queued.letters.length - 1].seq, letters: queued.letters.length, lostJob, job: queued.jobId },
        'retry job is gone (Redis lost its data?); dead letters sent again',
      );
    }
    return resent;
  }

  private async stillQueued(sourceId: string, jobId: string): Promise<boolean> {
    const job = await this.queues.queueFor(sourceId).getJob(jobId);
    if (!job) return false;
    // A completed job whose letters are still retrying did not resolve them: treat it as lost.
    return PENDING.has(await job.getState());
  }
}

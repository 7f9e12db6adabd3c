import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { DeadLetterRecord, DeadLetterRepository, RouteRecord } from '@tributary/control';
import { CHANGE_JOB_NAME, RetryJobData, QueueRegistry, retryJobId } from '@tributary/queue';
import { chunkLetters, retryingNote } from './retry-chunks';

/** One queued retry job and the letters it carries, in seq order. */
export interface QueuedRetry {
  jobId: string;
  letters: DeadLetterRecord[];
}

/**
 * Puts dead letters back through the normal apply path: marks them retrying
 * and adds a job to its source's queue (it may be applied beside the route's
 * own range job: every write is guarded per row, invariant 4). A retry job
 * carries no watermark, so it never moves the checkpoint (invariant 3), and the
 * worker applies it with `reapply` (the same seq goes through again, an older
 * one never: invariant 4).
 */
@Injectable()
export class RetryEnqueuer {
  constructor(
    @Inject(CONFIG) private readonly config: TributaryConfig,
    private readonly deadLetters: DeadLetterRepository,
    private readonly queues: QueueRegistry,
  ) {}

  /** Retries the open ones among `letters` (seq order), in bounded jobs. Letters taken meanwhile by another retry are left out. */
  async retry(route: RouteRecord, letters: readonly DeadLetterRecord[], actor: string): Promise<QueuedRetry[]> {
    const queued: QueuedRetry[] = [];
    for (const chunk of chunkLetters(letters, this.config.relay.jobMaxRows, this.config.relay.jobMaxBytes)) {
      const jobId = newJobId(chunk);
      const note = retryingNote(jobId);
      const claimed = await this.deadLetters.claimForRetry(
        route.id,
        chunk.map((letter) => letter.id),
        { actor, note },
      );
      if (claimed.length === 0) continue;
      try {
        await this.add(route, jobId, claimed);
      } catch (error) {
        await this.deadLetters.releaseClaim(
          claimed.map((letter) => letter.id),
          note,
        );
        throw error;
      }
      queued.push({ jobId, letters: claimed });
    }
    return queued;
  }

  /**
   * Re-sends retrying letters whose job is gone (Redis lost its data, or the
   * admin died between marking and enqueueing): only those still pointing at
   * `lostJobId` are taken, so two admins never both re-send one.
   */
  async resend(route: RouteRecord, letters: readonly DeadLetterRecord[], lostJobId: string): Promise<QueuedRetry | null> {
    const jobId = newJobId(letters);
    const taken = await this.deadLetters.reclaim(
      letters.map((letter) => letter.id),
      retryingNote(lostJobId),
      retryingNote(jobId),
    );
    if (taken.length === 0) return null;
    // If this fails, the letters stay retrying under the new job id and are re-sent at the next sweep.
    await this.add(route, jobId, taken);
    return { jobId, letters: taken };
  }

  private async add(route: RouteRecord, jobId: string, letters: DeadLetterRecord[]): Promise<void> {
    const data: RetryJobData = {
      v: 2,
      kind: 'retry',
      sourceId: route.sourceId,
      routeId: route.id,
      table: letters[0].change.table,
      changes: letters.map((letter) => letter.change),
      retryOf: letters.map((letter) => letter.id),
    };
    await this.queues.queueFor(route.sourceId).add(CHANGE_JOB_NAME, data, { jobId });
  }
}

function newJobId(letters: readonly DeadLetterRecord[]): string {
  return retryJobId(
    letters.map((letter) => letter.id),
    Date.now(),
    randomBytes(3).toString('hex'),
  );
}

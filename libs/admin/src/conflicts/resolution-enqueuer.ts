import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ConflictRecord, ConflictRepository, RouteRecord } from '@tributary/control';
import { CHANGE_JOB_NAME, ResolutionJobData, QueueRegistry } from '@tributary/queue';

/** A person's decision that the worker carries out. */
export interface QueuedResolution {
  jobId: string;
  /** The conflicts now resolving, in seq order. */
  conflicts: ConflictRecord[];
}

/**
 * Carries a person's apply-source or merge on the parked conflicts of one
 * key to the worker: claims them (open → resolving, so two people never both
 * decide) and adds one job to its source's queue (later changes of the key
 * stay parked meanwhile, so order within the key holds). The job carries the
 * latest parked change of the key with watermark 0, so it never moves the
 * checkpoint; the worker marks the conflicts resolved once it is applied.
 */
@Injectable()
export class ResolutionEnqueuer {
  constructor(
    private readonly conflicts: ConflictRepository,
    private readonly queues: QueueRegistry,
  ) {}

  /**
   * Returns null when none of `open` is open any more (someone else decided
   * meanwhile). If the job cannot be added the claim is released and the
   * error thrown.
   */
  async enqueue(
    route: RouteRecord,
    open: readonly ConflictRecord[],
    decision: { action: 'apply-source' | 'merge'; row: Record<string, unknown> | null; actor: string },
  ): Promise<QueuedResolution | null> {
    const claimed = await this.conflicts.claimForResolution(
      open.map((conflict) => conflict.id),
      decision,
    );
    if (claimed.length === 0) return null;
    const latest = claimed.reduce((a, b) => (b.seq > a.seq ? b : a));
    const conflictIds = claimed.map((conflict) => conflict.id);
    const jobId = resolutionJobId(conflictIds[0], randomBytes(4).toString('hex'));
    const data: ResolutionJobData = {
      v: 2,
      kind: 'resolution',
      sourceId: route.sourceId,
      routeId: route.id,
      table: latest.change.table,
      changes: [latest.change],
      resolution: { conflictIds, action: decision.action, row: decision.row, actor: decision.actor },
    };
    try {
      await this.queues.queueFor(route.sourceId).add(CHANGE_JOB_NAME, data, { jobId });
    } catch (error) {
      await this.conflicts.releaseClaim(conflictIds);
      throw error;
    }
    return { jobId, conflicts: claimed };
  }
}

/** Unique (a decision is a one-off act), never digits-only and never a ':' (BullMQ). */
export function resolutionJobId(firstConflictId: number, nonce: string): string {
  return `resolve-${firstConflictId}-${nonce}`;
}

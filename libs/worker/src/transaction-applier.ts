import { Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { OutboxRepository } from '@tributary/outbox';
import { TransactionJobData } from '@tributary/queue';
import { routeWants } from '@tributary/model';
import { Target, TargetConfigError } from '@tributary/targets';
import { BatchApplier, emptyTally, TableNotReadyError, TransactionTally } from './batch-applier';
import { RangeReader } from './range-reader';

/** Tables made in a row before one transaction job gives up (each new schema of a job makes one). */
const MAX_TABLES_MADE = 20;

/**
 * Applies a transaction job (issue #15): the changes of several routes into
 * one transactional target, read from the outbox in seq order in bounded
 * chunks and written through each route's applier (its filter, mapping and
 * guard) inside ONE target transaction, which also moves every route's
 * checkpoint. A reader at the target sees all of the job's source
 * transactions or none of them. Memory stays bounded however large the job:
 * rows stream through the open transaction, which only the target holds.
 */
export class TransactionApplier {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly batchRows: number,
  ) {}

  async apply(job: TransactionJobData, target: Target, outbox: OutboxRepository, members: readonly BatchApplier[]): Promise<void> {
    if (!target.transaction) throw new TargetConfigError(`target ${job.targetId}: a ${target.kind} target has no transactions across tables; turn its option transactional off`);
    for (let made = 0; ; made++) {
      try {
        await this.applyOnce(job, target, outbox, members);
        return;
      } catch (error) {
        // A table to create or evolve first: DDL beside the open transaction could wait on it for ever.
        if (!(error instanceof TableNotReadyError) || made >= MAX_TABLES_MADE) throw error;
        this.logger.info({ targetId: job.targetId }, error.message);
        await error.ensure();
      }
    }
  }

  private async applyOnce(job: TransactionJobData, target: Target, outbox: OutboxRepository, members: readonly BatchApplier[]): Promise<void> {
    const floors = await Promise.all(members.map((member) => member.checkpoint()));
    const reader = new RangeReader(
      outbox,
      members.map((member) => member.selector),
      job.ranges,
      Math.min(...floors),
      this.batchRows,
    );
    const tallies = members.map(() => emptyTally());
    const tables = members.map((member) => member.routeRecord.targetTable);
    const labels = { source: job.sourceId, target: job.targetId };
    const endTimer = this.metrics.transactionJobDuration.startTimer(labels);
    await target.transaction!(tables, async (tx) => {
      // The next chunk is read from the source while the current one is at the target.
      let ahead = readAhead(reader);
      for (let done = false; !done; ) {
        const chunk = await ahead;
        done = chunk.done;
        if (!done) ahead = readAhead(reader);
        for (let i = 0; i < members.length; i++) {
          const member = members[i];
          const selector = member.selector;
          const changes = chunk.changes.filter((change) => change.seq > floors[i] && routeWants(change, selector));
          if (changes.length > 0) await member.writeInTransaction(tx, { sourceId: job.sourceId, table: selector.table, changes, watermark: 0 }, tallies[i]);
        }
      }
      // Every route's checkpoint, in the same transaction (invariant 3).
      for (let i = 0; i < members.length; i++) {
        const member = members[i];
        await member.writeInTransaction(tx, { sourceId: job.sourceId, table: member.selector.table, changes: [], watermark: job.watermark }, tallies[i]);
      }
    });
    endTimer();
    members.forEach((member, i) => member.committedInTransaction(tallies[i], job.watermark, job.coveredMicros));
    const applied = tallies.reduce((sum, tally) => sum + tally.applied, 0);
    this.metrics.transactionJobRows.observe(labels, tallies.reduce((sum, tally) => sum + tally.applied + tally.skipped + tally.filtered, 0));
    this.logger.debug({ targetId: job.targetId, routes: members.length, applied, watermark: job.watermark }, 'transaction job applied');
  }
}

/** The reader's next chunk, started now; a failure surfaces where it is awaited, never as an unhandled rejection. */
function readAhead(reader: RangeReader): ReturnType<RangeReader['next']> {
  const next = reader.next();
  next.catch(() => undefined);
  return next;
}

export type { TransactionTally };

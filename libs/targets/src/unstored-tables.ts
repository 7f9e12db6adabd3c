import { RowChange, TargetTableSpec } from '@tributary/model';
import { BatchPlan, planBatch } from './apply-plan';
import { conflictsNotSupported, TransientTargetError, versionsPerSourceNotSupported } from './errors';
import { ExistingTable, planTableEvolution } from './sql/table-evolution';
import { ApplyBatch, ApplyHooks, RejectedChange, TargetCheckpoint } from './target';

/**
 * What a target that stores no tables of its own (a webhook, a message
 * broker) keeps in this process instead: each table's shape as ensureTable
 * left it, and the checkpoints it reached.
 */

/**
 * What such a target can send of a batch: it detects no conflicts and keeps
 * one version per row (both refused with TargetConfigError), and a change
 * planBatch finds faulty (an image without its key) is a dead letter.
 *
 * @returns the changes to send, in batch order, the ones refused, and the plan's row writes (what the batch counts).
 */
export function sendableChanges(kind: string, batch: ApplyBatch, hooks: ApplyHooks): { changes: RowChange[]; invalid: RejectedChange[]; writes: BatchPlan['writes'] } {
  if (hooks.resolveConflicts) throw conflictsNotSupported(kind);
  if (batch.versions) throw versionsPerSourceNotSupported(kind);
  const plan = planBatch(batch.table, batch.changes);
  const invalid = new Set(plan.invalid.map((r) => r.change));
  return { changes: batch.changes.filter((c) => !invalid.has(c)), invalid: plan.invalid, writes: plan.writes };
}

/**
 * A batch must not omit a NOT NULL column the recorded table has: the worker
 * calls ensureTable with a new shape first, so it is retried once it has.
 *
 * @throws TransientTargetError naming the columns.
 */
export function checkRecordedShape(kind: string, recorded: ExistingTable | undefined, table: TargetTableSpec): void {
  if (!recorded) return;
  const missing = planTableEvolution(table, recorded, false).makeNullable;
  if (missing.length > 0) {
    throw new TransientTargetError(`${kind} target: table ${table.name} has NOT NULL columns ${missing.join(', ')} this batch lacks; ensureTable must evolve it first`, null);
  }
}

/**
 * The checkpoints such a target reports: what this process delivered, never
 * moving back. Not durable: the route's progress in the control schema is
 * its durable checkpoint, written after the target confirmed the batch.
 */
export class ProcessCheckpoints {
  private readonly checkpoints = new Map<string, TargetCheckpoint>();

  save(routeId: string, watermark: number): void {
    const saved = this.checkpoints.get(routeId);
    if (!saved || saved.watermark < watermark) this.checkpoints.set(routeId, { routeId, watermark, updatedAt: new Date() });
  }

  read(routeId: string): TargetCheckpoint | null {
    const saved = this.checkpoints.get(routeId);
    return saved ? { ...saved } : null;
  }
}

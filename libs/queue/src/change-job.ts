import { WireChange } from '@tributary/model';

/**
 * The payload of one BullMQ job: a bounded run of one route's changes in seq
 * order (invariant 7: bounded in rows and bytes), or none at all (a
 * heartbeat that only moves the route's watermark).
 */
export interface ChangeJobData {
  v: 1;
  sourceId: string;
  routeId: string;
  table: string;
  /**
   * Every change of this route with seq <= watermark is in this job or an
   * earlier one; the worker saves it as the target checkpoint.
   */
  watermark: number;
  changes: WireChange[];
  /**
   * Set on a dead-letter retry job (enqueued by admin): `retryOf[i]` is the
   * id of the dead letter that holds `changes[i]`. The worker applies these
   * changes with `reapply` (the same seq goes through again) and resolves the
   * letters afterwards. A retry job carries watermark 0: it never moves the
   * checkpoint (invariant 3).
   */
  retryOf?: number[];
  /**
   * Set on a job that carries a person's decision on parked (manual)
   * conflicts of one key, enqueued by admin: the worker applies `changes`
   * (the latest parked change of the key) without conflict detection and
   * with `reapply`, writing `row` (target columns) instead of the change's
   * after image when the action is 'merge', then marks `conflictIds`
   * resolved. Watermark 0: it never moves the checkpoint.
   */
  resolution?: { conflictIds: number[]; action: 'apply-source' | 'merge'; row: Record<string, unknown> | null; actor: string };
}

export const CHANGE_JOB_NAME = 'changes';

/** BullMQ rule: queue names and job ids never contain ':' and ids are never digits-only. */
export function routeQueueName(routeId: string): string {
  return `route-${routeId}`;
}

/** Deterministic, so a relay that re-sends after a crash does not add the same run twice while it is queued. */
export function changeJobId(data: ChangeJobData): string {
  const { changes } = data;
  if (changes.length === 0) return `w${data.watermark}`;
  return `c${changes[0].seq}-${changes[changes.length - 1].seq}-w${data.watermark}`;
}

/**
 * A retry is a deliberate, one-off act, so its id is unique rather than
 * deterministic; the `r` prefix keeps it apart from relay jobs (and never
 * digits-only, never a ':').
 */
export function retryJobId(letterIds: readonly number[], requestedAt: number, nonce: string): string {
  return `r${letterIds[0]}-${letterIds[letterIds.length - 1]}-n${letterIds.length}-t${requestedAt}-${nonce}`;
}

/** Rough size of a change in a job, to bound job bytes without serialising twice. */
export function wireChangeBytes(change: WireChange): number {
  return 96 + change.table.length + change.pk.length + (change.before?.length ?? 0) + (change.after?.length ?? 0);
}

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

/** Rough size of a change in a job, to bound job bytes without serialising twice. */
export function wireChangeBytes(change: WireChange): number {
  return 96 + change.table.length + change.pk.length + (change.before?.length ?? 0) + (change.after?.length ?? 0);
}

import { copyRouteOf, WireChange } from '@tributary/model';
import { ChangeJobData, wireChangeBytes } from '@tributary/queue';

/** What the relay needs to know about a route to feed it. */
export interface RouteFeed {
  routeId: string;
  table: string;
  /**
   * Changes whose origin equals this were written by Tributary applying a
   * change that came from this route's target: never send them back
   * (invariant 6, two-way replication without loops).
   */
  echoOrigin: string;
}

export interface JobPlanInput {
  sourceId: string;
  /** Changes read this cycle, in seq order. */
  changes: readonly WireChange[];
  routes: readonly RouteFeed[];
  watermarkBefore: number;
  watermarkAfter: number;
  /** Routes with no change this cycle that should still hear the new watermark. */
  heartbeat: ReadonlySet<string>;
  maxRows: number;
  maxBytes: number;
}

/**
 * Splits one relay cycle into bounded jobs per route (invariant 7). A job's
 * watermark promises that every change of the route at or below it is in
 * that job or an earlier one, so only a route's last job of the cycle can
 * carry the new watermark.
 */
export function planJobs(input: JobPlanInput): ChangeJobData[] {
  const jobs: ChangeJobData[] = [];
  for (const route of input.routes) {
    const mine = input.changes.filter((change) => change.table === route.table && change.origin !== route.echoOrigin && isFor(change, route.routeId));
    const base = { v: 1 as const, sourceId: input.sourceId, routeId: route.routeId, table: route.table };
    if (mine.length === 0) {
      if (input.heartbeat.has(route.routeId)) jobs.push({ ...base, watermark: input.watermarkAfter, changes: [] });
      continue;
    }
    let chunk: WireChange[] = [];
    let bytes = 0;
    for (const change of mine) {
      const size = wireChangeBytes(change);
      if (chunk.length > 0 && (chunk.length >= input.maxRows || bytes + size > input.maxBytes)) {
        jobs.push({ ...base, watermark: input.watermarkBefore, changes: chunk });
        chunk = [];
        bytes = 0;
      }
      chunk.push(change);
      bytes += size;
    }
    jobs.push({ ...base, watermark: input.watermarkAfter, changes: chunk });
  }
  return jobs;
}

/** Copy records (initial copy, re-sync, repair) go to the one route they were written for; changes to every route. */
function isFor(change: WireChange, routeId: string): boolean {
  const copyRoute = copyRouteOf(change.origin);
  return copyRoute === null || copyRoute === routeId;
}

import { RouteProgressRecord } from '@tributary/control';

/** What a route is doing, as the status API reports it. */
export const ROUTE_STATES = ['running', 'lagging', 'paused', 'failing', 'stalled'] as const;
export type RouteState = (typeof ROUTE_STATES)[number];

/**
 * A route with changes waiting longer than this, that applied nothing for
 * as long, is stalled: whatever holds it back (no worker or relay running,
 * a job stuck), it must not look like it is running (invariant 9).
 */
export const STALL_AFTER_SECONDS = 10;

export interface RouteStateInput {
  enabled: boolean;
  progress: Pick<RouteProgressRecord, 'lastErrorAt' | 'lastAppliedAt' | 'lastError'> | undefined;
  /** Age in seconds of the oldest change the route has not applied (null: unknown). */
  lagSeconds: number | null;
  /** Why the source's outbox could not be read just now (null or absent: it could). */
  sourceError?: string | null;
  now: number;
}

/**
 * paused: the route is disabled (its worker holds its jobs). failing: the
 * source cannot be read (down, unreachable: nothing can move while it is, and
 * its lag is unknown), or the last error is newer than the last applied
 * batch — the worker clears the error when a batch commits, so an error
 * still standing means the route is stuck retrying. stalled: no error, but changes have waited for more than
 * STALL_AFTER_SECONDS and nothing was applied meanwhile. lagging: it applies,
 * but its oldest waiting change is older than that (a catch-up, or a target
 * slower than the writes). `reason` says why for every state but running.
 */
export function routeState(input: RouteStateInput): { state: RouteState; reason: string | null } {
  const { enabled, progress, lagSeconds, now } = input;
  if (!enabled) return { state: 'paused', reason: 'the route is paused' };
  if (input.sourceError) return { state: 'failing', reason: `the source cannot be read: ${input.sourceError}` };
  const errorAt = progress?.lastErrorAt?.getTime();
  const appliedAt = progress?.lastAppliedAt?.getTime();
  if (errorAt !== undefined && (appliedAt === undefined || errorAt > appliedAt)) {
    return { state: 'failing', reason: `retrying since the last error: ${progress?.lastError ?? 'unknown error'}` };
  }
  const idleSeconds = appliedAt === undefined ? null : (now - appliedAt) / 1000;
  if (lagSeconds !== null && lagSeconds > STALL_AFTER_SECONDS && (idleSeconds === null || idleSeconds > STALL_AFTER_SECONDS)) {
    const idle = idleSeconds === null ? 'nothing applied yet' : `nothing applied for ${Math.round(idleSeconds)} s`;
    return {
      state: 'stalled',
      reason: `${idle} while changes wait (oldest ${Math.round(lagSeconds)} s): is a relay and a worker running for this source and route?`,
    };
  }
  if (lagSeconds !== null && lagSeconds > STALL_AFTER_SECONDS) {
    return { state: 'lagging', reason: `applying, but the oldest waiting change is ${Math.round(lagSeconds)} s old` };
  }
  return { state: 'running', reason: null };
}

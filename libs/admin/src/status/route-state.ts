import { RouteProgressRecord } from '@tributary/control';

/** What a route is doing, as the status API reports it. */
export type RouteState = 'running' | 'paused' | 'failing';

/**
 * paused: the route is disabled (its worker holds its jobs). failing: the
 * last error is newer than the last applied batch — the worker clears the
 * error when a batch commits, so an error still standing means the route is
 * stuck retrying (invariant 9: visible, not silent).
 */
export function routeState(enabled: boolean, progress: Pick<RouteProgressRecord, 'lastErrorAt' | 'lastAppliedAt'> | undefined): RouteState {
  if (!enabled) return 'paused';
  const errorAt = progress?.lastErrorAt?.getTime();
  const appliedAt = progress?.lastAppliedAt?.getTime();
  if (errorAt !== undefined && (appliedAt === undefined || errorAt > appliedAt)) return 'failing';
  return 'running';
}

import { redactSecrets } from '@tributary/config';
import { VerifyRunKind, VerifyRunOutcome, VerifyRunRecord, VerifyRunRepository } from '@tributary/control';
import { TargetRegistry } from '@tributary/targets';
import { RepairNotAppliedError, RunBusyError, UnknownRouteError, VerifyAbortedError, VerifyConfigError } from './errors';
import { repairRoute, RepairOptions, RepairResult } from './repair';
import { ControlAccess, openRouteSession } from './route-session';
import { HeldRunLock, RunLocks } from './run-lock';
import { matched, VerifyResult, verifyRoute } from './verifier';

/** What a recorded run answers: the stored run, and the full result when there is one. */
export interface RunAnswer {
  run: VerifyRunRecord;
  result: VerifyResult | RepairResult | null;
}

export interface RunDeps extends ControlAccess {
  runs: VerifyRunRepository;
  registry?: TargetRegistry;
  /** One run per route across processes (routeRunLocks); without it, nothing stops two. */
  locks?: RunLocks;
}

/**
 * Runs a verify or repair that was recorded as `running` (VerifyRunRepository.create)
 * and records how it ended. Never throws for the run's own failures: they are
 * recorded (status failed, error) and returned — the caller may be a
 * background task with nobody to catch.
 */
export async function executeRun(deps: RunDeps, run: VerifyRunRecord, options: RepairOptions = {}): Promise<RunAnswer> {
  let result: VerifyResult | RepairResult | null = null;
  try {
    const session = await openRouteSession(deps, run.routeId, deps.registry);
    try {
      result = run.kind === 'repair' ? await repairRoute(session, options) : await verifyRoute(session, options);
    } finally {
      await session.close();
    }
    await deps.runs.finish(run.id, outcome(run.kind, result));
  } catch (error) {
    await deps.runs.fail(run.id, failureMessage(error));
  }
  return { run: (await deps.runs.get(run.id))!, result };
}

/** Records and runs one verify or repair, start to end (the CLI's way; the admin starts it in the background). */
export async function recordAndRun(deps: RunDeps, routeId: string, kind: VerifyRunKind, requestedBy: string | null, options: RepairOptions = {}): Promise<RunAnswer> {
  const route = await deps.catalog.getRoute(routeId);
  if (!route) throw new UnknownRouteError(routeId);
  const claim = await claimRun(deps, routeId, kind, requestedBy);
  try {
    return await executeRun(deps, claim.run, options);
  } finally {
    await claim.release();
  }
}

/**
 * Takes the route's run lock and records the run as running. Runs of the
 * route still recorded as running belong to a process that died (it would
 * hold the lock): they are marked failed first. A run records its end just
 * before it lets the lock go, so a lock held while no run is recorded as
 * running is a run finishing: asked again for up to FINISHING_WAIT_MS (a
 * client that saw the run end and starts the next must not hear "busy").
 *
 * @throws RunBusyError when another run of the route is going on.
 */
export async function claimRun(deps: RunDeps, routeId: string, kind: VerifyRunKind, requestedBy: string | null): Promise<{ run: VerifyRunRecord; release(): Promise<void> }> {
  const lock = deps.locks ? await takeRunLock(deps, deps.locks, routeId) : null;
  if (deps.locks && !lock) throw new RunBusyError(routeId);
  try {
    if (lock) await deps.runs.failRunning(routeId, 'interrupted: the process running it stopped before it ended');
    const run = await deps.runs.create(routeId, kind, requestedBy);
    return { run, release: async () => lock?.release() };
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

/** How long claimRun waits for a run that has recorded its end to let its lock go. */
const FINISHING_WAIT_MS = 2000;

async function takeRunLock(deps: RunDeps, locks: RunLocks, routeId: string): Promise<HeldRunLock | null> {
  const giveUpAt = Date.now() + FINISHING_WAIT_MS;
  for (;;) {
    const lock = await locks(routeId);
    if (lock) return lock;
    const running = (await deps.runs.listByRoute(routeId, 1)).some((run) => run.status === 'running');
    if (running || Date.now() >= giveUpAt) return null;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The stored form of a result: counts of what was found, and the sample with the settled flag. */
export function outcome(kind: VerifyRunKind, result: VerifyResult | RepairResult): VerifyRunOutcome {
  const found = kind === 'repair' ? (result as RepairResult).before : (result as VerifyResult);
  const status = kind === 'repair' ? (result as RepairResult).status : matched(found) ? 'matched' : 'differs';
  const sample: Record<string, unknown> = { settled: found.settled, ignoredColumns: found.ignoredColumns, extrasChecked: found.extrasChecked, differences: found.differences };
  // A repair counts as repaired only what the second verify found equal: re-sent is not the same as fixed.
  let repaired = 0;
  if (kind === 'repair') {
    const { after, resent } = result as RepairResult;
    const remaining = after === found ? 0 : after.missing + after.extra + after.different;
    repaired = Math.max(0, found.missing + found.extra + found.different - remaining);
    sample.resent = resent;
    if (after !== found) {
      sample.after = { missing: after.missing, extra: after.extra, different: after.different, settled: after.settled, differences: after.differences };
    }
  }
  return {
    status,
    sourceRows: found.sourceRows,
    targetRows: found.targetRows,
    missing: found.missing,
    extra: found.extra,
    different: found.different,
    repaired,
    sample,
  };
}

/** One line, free of credentials: typed errors say what to fix; anything else is scrubbed of URLs' passwords. */
export function failureMessage(error: unknown): string {
  if (
    error instanceof UnknownRouteError ||
    error instanceof VerifyConfigError ||
    error instanceof RepairNotAppliedError ||
    error instanceof VerifyAbortedError ||
    error instanceof RunBusyError
  ) {
    return error.message;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redactSecrets(message).split('\n')[0];
}


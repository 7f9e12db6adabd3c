import { VerifyRunKind, VerifyRunOutcome, VerifyRunRecord, VerifyRunRepository } from '@tributary/control';
import { TargetRegistry } from '@tributary/targets';
import { RepairNotAppliedError, UnknownRouteError, VerifyAbortedError, VerifyConfigError } from './errors';
import { repairRoute, RepairOptions, RepairResult } from './repair';
import { ControlAccess, openRouteSession } from './route-session';
import { matched, VerifyResult, verifyRoute } from './verifier';

/** What a recorded run answers: the stored run, and the full result when there is one. */
export interface RunAnswer {
  run: VerifyRunRecord;
  result: VerifyResult | RepairResult | null;
}

export interface RunDeps extends ControlAccess {
  runs: VerifyRunRepository;
  registry?: TargetRegistry;
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
  return executeRun(deps, await deps.runs.create(routeId, kind, requestedBy), options);
}

/** The stored form of a result: counts of what was found, and the sample with the settled flag. */
export function outcome(kind: VerifyRunKind, result: VerifyResult | RepairResult): VerifyRunOutcome {
  const found = kind === 'repair' ? (result as RepairResult).before : (result as VerifyResult);
  const status = kind === 'repair' ? (result as RepairResult).status : matched(found) ? 'matched' : 'differs';
  const sample: Record<string, unknown> = { settled: found.settled, ignoredColumns: found.ignoredColumns, differences: found.differences };
  if (kind === 'repair' && (result as RepairResult).after !== found) {
    const after = (result as RepairResult).after;
    sample.after = { missing: after.missing, extra: after.extra, different: after.different, settled: after.settled, differences: after.differences };
  }
  return {
    status,
    sourceRows: found.sourceRows,
    targetRows: found.targetRows,
    missing: found.missing,
    extra: found.extra,
    different: found.different,
    repaired: kind === 'repair' ? (result as RepairResult).resent : 0,
    sample,
  };
}

/** One line, free of credentials: typed errors say what to fix; anything else is scrubbed of URLs' passwords. */
export function failureMessage(error: unknown): string {
  if (error instanceof UnknownRouteError || error instanceof VerifyConfigError || error instanceof RepairNotAppliedError || error instanceof VerifyAbortedError) {
    return error.message;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redactSecrets(message).split('\n')[0];
}

/** Passwords in URLs and Authorization values (the admin's redactSecrets does the same for its logs). */
export function redactSecrets(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]*@/gi, '$1***@').replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 ***');
}

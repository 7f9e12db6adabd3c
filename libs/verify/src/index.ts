/**
 * Verify and repair of a route (issue #5): compare the target with the
 * source (filtered, mapped) in key-ordered chunks by checksums on normalised
 * values, report missing, extra and different rows; repair re-sends exactly
 * those rows through the normal apply path as copy records.
 */
export { RepairNotAppliedError, RunBusyError, UnknownRouteError, VerifyAbortedError, VerifyConfigError } from './errors';
export { routeExpectation } from './expectation';
export type { RouteExpectation } from './expectation';
export { canonicalRow, canonicalValue, differingColumns, jsonRow, rowComparison, rowKeyText, rowsChecksum } from './normalise';
export type { RowComparison } from './normalise';
export { repairRoute } from './repair';
export type { RepairOptions, RepairResult } from './repair';
export { openRouteSession } from './route-session';
export type { ControlAccess, RouteSession } from './route-session';
export { claimRun, executeRun, failureMessage, outcome, recordAndRun } from './run';
export { routeRunLocks } from './run-lock';
export type { HeldRunLock, RunLocks } from './run-lock';
export type { RunAnswer, RunDeps } from './run';
export { matched, verifyRoute, waitForWatermark } from './verifier';
export type { Difference, DifferenceKind, VerifyDeps, VerifyOptions, VerifyProgress, VerifyResult } from './verifier';

import { CopyContendedError, SourceCopier } from '@tributary/snapshot';
import { RepairNotAppliedError, VerifyAbortedError } from './errors';
import { matched, verifyRoute, VerifyDeps, VerifyOptions, VerifyResult, waitForWatermark } from './verifier';

export interface RepairOptions extends VerifyOptions {
  /** Source keys per copy transaction (locks are held on at most this many rows, for milliseconds). Default 500. */
  batchKeys?: number;
  /** How long to wait for the route to apply the repair records. Default 120 s. */
  applyTimeoutMs?: number;
  onRepairProgress?(progress: { resent: number; total: number }): void;
}

export interface RepairResult {
  status: 'matched' | 'repaired' | 'differs';
  /** What the first verify found (what was repaired). */
  before: VerifyResult;
  /** The verify after the repair was applied (the same object as `before` when nothing needed repair). */
  after: VerifyResult;
  /** Source keys re-sent. */
  resent: number;
}

/** Attempts per batch when application transactions hold its rows (each waits a few seconds, then gives way). */
const CONTENDED_ATTEMPTS = 5;

/**
 * Repairs a route like pt-table-sync, but through the normal apply path:
 * the source keys of every difference are written as copy records for this
 * route (present rows as "the row is now this", absent keys as deletes), so
 * the worker applies them with the route's filter and mapping, the per-row
 * seq guard, the checkpoint and dead letters, ordered exactly against live
 * writes. Then it waits for the route to apply them and verifies again:
 * 'repaired' only if that second verify matches.
 *
 * @throws RepairNotAppliedError if the route does not apply the records in time (paused or stalled).
 */
export async function repairRoute(deps: VerifyDeps, options: RepairOptions = {}): Promise<RepairResult> {
  const before = await verifyRoute(deps, options);
  if (matched(before)) return { status: 'matched', before, after: before, resent: 0 };

  const copier = new SourceCopier(deps.source, deps.route.id);
  const batchKeys = options.batchKeys ?? 500;
  const keys = before.repairKeys;
  let lastSeq = 0;
  for (let i = 0; i < keys.length; i += batchKeys) {
    if (options.signal?.aborted) throw new VerifyAbortedError();
    const copy = await copyContended(() => copier.copyKeys(deps.schema, keys.slice(i, i + batchKeys)));
    if (copy.lastSeq !== null) lastSeq = Math.max(lastSeq, copy.lastSeq);
    options.onRepairProgress?.({ resent: Math.min(i + batchKeys, keys.length), total: keys.length });
  }
  const applyTimeoutMs = options.applyTimeoutMs ?? 120_000;
  if (!(await waitForWatermark(deps.progress, deps.route.id, lastSeq, applyTimeoutMs, options.pollMs, options.signal))) {
    throw new RepairNotAppliedError(
      `route ${deps.route.id} did not apply the ${keys.length} repaired rows (outbox seq ${lastSeq}) within ${Math.round(applyTimeoutMs / 1000)} s: ` +
        'is it paused or stalled (see its lastError)? The repair records stay in the outbox and apply when it moves',
    );
  }
  const after = await verifyRoute(deps, options);
  return { status: matched(after) ? 'repaired' : 'differs', before, after, resent: keys.length };
}

async function copyContended<T>(copy: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await copy();
    } catch (error) {
      if (!(error instanceof CopyContendedError) || attempt >= CONTENDED_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

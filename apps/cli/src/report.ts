import type { VerifyRunRecord } from '@tributary/control';
import type { Difference } from '@tributary/verify';

/** Differences printed in the readable report (the run keeps up to 100; --json shows them all). */
const PRINTED = 10;
/** Long values are cut in the readable report, so one row cannot flood a terminal. */
const VALUE_CHARS = 60;

interface StoredSample {
  settled?: boolean;
  ignoredColumns?: string[];
  differences?: Difference[];
  after?: { missing: number; extra: number; different: number; settled: boolean; differences: Difference[] };
  /** A repair's rows re-sent through the route. */
  resent?: number;
}

/** A finished run as a few readable lines (never a URL: rows and keys only). */
export function formatRun(run: VerifyRunRecord): string {
  const sample = (run.sample ?? {}) as StoredSample;
  const lines: string[] = [];
  lines.push(`route ${run.routeId}: ${headline(run)} (${run.kind} run #${run.id})`);
  if (run.status === 'failed') {
    lines.push(`  error: ${run.error ?? 'unknown'}`);
    return lines.join('\n');
  }
  lines.push(`  source rows (matching the route): ${run.sourceRows}, target rows: ${run.targetRows}`);
  lines.push(`  ${run.kind === 'repair' ? 'found ' : ''}missing ${run.missing}, extra ${run.extra}, different ${run.different}`);
  if (sample.ignoredColumns?.length) lines.push(`  not compared (set by the change that wrote the row): ${sample.ignoredColumns.join(', ')}`);
  const differences = sample.differences ?? [];
  if (differences.length > 0) {
    lines.push(run.kind === 'repair' ? '  repaired, among others:' : '  first differences:');
    for (const difference of differences.slice(0, PRINTED)) lines.push(`    ${formatDifference(difference)}`);
    const total = run.missing + run.extra + run.different;
    if (total > PRINTED) lines.push(`    … and ${total - PRINTED} more (--json shows up to ${differences.length})`);
  }
  if (run.kind === 'repair' && typeof sample.resent === 'number' && sample.resent > 0) {
    lines.push(`  re-sent ${sample.resent} rows through the route; ${run.repaired} differences fixed`);
  }
  if (sample.after && run.status === 'differs') {
    lines.push(`  after the repair: missing ${sample.after.missing}, extra ${sample.after.extra}, different ${sample.after.different}`);
    for (const difference of sample.after.differences.slice(0, PRINTED)) lines.push(`    ${formatDifference(difference)}`);
  }
  const settled = sample.after ? sample.after.settled : sample.settled;
  if (settled === false && run.status === 'differs') {
    lines.push('  note: the route did not catch up with the source while differences were re-checked (paused or stalled?): some may be lag');
  }
  return lines.join('\n');
}

export function formatDifference(difference: Difference): string {
  const key = JSON.stringify(difference.key);
  if (difference.kind === 'missing') return `missing   ${key}: not at the target`;
  if (difference.kind === 'extra') return `extra     ${key}: at the target, not (or no longer matching) at the source`;
  const columns = (difference.columns ?? []).map((name) => `${name} ${value(difference.actual?.[name])} (expected ${value(difference.expected?.[name])})`);
  return `different ${key}: ${columns.join(', ')}`;
}

function headline(run: VerifyRunRecord): string {
  switch (run.status) {
    case 'matched':
      return 'target matches the source';
    case 'repaired':
      return 'repaired; the target now matches the source';
    case 'differs':
      return run.kind === 'repair' ? 'still differs after the repair' : 'target differs from the source';
    case 'failed':
      return 'failed';
    default:
      return run.status;
  }
}

function value(v: unknown): string {
  const text = JSON.stringify(v ?? null);
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS)}…` : text;
}

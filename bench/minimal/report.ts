import { rowsEqual } from '../deployment';
import { cpuUse, formatInt, machineLoad, rssList, table } from '../format';
import { steadyRate } from '../support';
import { MinimalDrainResult } from './drain';

/** Issue #10's target: Tributary drains at least this share of the minimal pipeline's rate, in the same run. */
const GOAL_MIN_RATIO = 0.8;

/** The drain's row count and total match the source (live rows; tombstones left out). */
export function minimalVerified(result: MinimalDrainResult): boolean {
  return rowsEqual(result.rows);
}

/** Tributary's drain rate as a share of the minimal pipeline's, for the line that prints Tributary's rate. */
export function minimalRatio(result: MinimalDrainResult | null, changes: number, tributaryRate: number): string {
  if (result === null) return '';
  const ratio = tributaryRate / (changes / result.seconds);
  return `; ${ratio.toFixed(2)} of the minimal pipeline (goal >= ${GOAL_MIN_RATIO}: ${ratio >= GOAL_MIN_RATIO ? 'met' : 'NOT met'})`;
}

/**
 * The baseline's own table, printed under Tributary's drain. `tributary`:
 * its rate from process start, and after its first applied batch.
 */
export function minimalDrainReport(result: MinimalDrainResult, changes: number, maxSeq: number, tributary: { rate: number; steady: number }): string[] {
  const rate = changes / result.seconds;
  const steady = steadyRate(result.seconds, result.firstProgressAt, result.firstProgressSeq, maxSeq);
  return [
    `Minimal pipeline on the same backlog, run just before Tributary's drain (bench/minimal: the relay reads committed seqs, ` +
      `jobs carry {from, to} of at most ${formatInt(result.jobRows)} changes, one worker at concurrency 1 reads them and writes ` +
      `one upsert guarded by seq per job, deletes as tombstones)`,
    table(
      ['measure', 'value'],
      [
        ['drain time (from process start)', `${result.seconds.toFixed(1)} s`],
        ['drain rate', `${formatInt(rate)} changes/s`],
        ['rate after the first applied job', `${formatInt(steady)} changes/s (first job at ${result.firstProgressAt.toFixed(1)} s)`],
        [
          'Tributary / minimal',
          `${(tributary.rate / rate).toFixed(2)} from process start (goal >= ${GOAL_MIN_RATIO}); ` +
            `${(tributary.steady / steady).toFixed(2)} after each one's first batch (start-up left out)`,
        ],
        ['peak RSS (VmHWM)', rssList(result.peakRssMiB)],
        ['CPU during the drain (% of wall)', cpuUse(result.cpu, result.seconds, { withSeconds: true })],
        ['machine busy (all cores)', machineLoad(result)],
        ['rows source / target', `${formatInt(result.rows.source)} / ${formatInt(result.rows.target)}`],
        ['SUM(amount) source / target', `${result.rows.sourceSum} / ${result.rows.targetSum}`],
        ['verified', minimalVerified(result) ? 'yes' : 'NO'],
      ],
      false,
    ),
  ];
}

import { OUTBOX_TABLE } from '@tributary/db';
import { compareRows, cpuGroups, RowComparison } from '../deployment';
import { CpuMeter, memoryMiB } from '../proc';
import { assertAlive } from '../route-wait';
import { AppProcess, BenchDatabase, Cleanup, note, noteOutputs, sleep } from '../support';
import { MINIMAL_LIVE_VIEW, MINIMAL_TABLE } from './contract';
import { createMinimalTarget, MINIMAL_APP_NAMES, startMinimalPipeline } from './pipeline';

/**
 * The minimal pipeline's drain of a backlog that is already in the outbox
 * (issue #10, measurement b): timed from starting its processes until the
 * outbox's last change is at the target. It only reads the outbox, so
 * Tributary's drain can run on the same backlog afterwards.
 */
export interface MinimalDrainOptions {
  source: BenchDatabase;
  /** The captured source table (the bench's items shape). */
  table: string;
  /** The outbox's highest seq: done when the change it holds is applied. */
  maxSeq: number;
  postgresUrl: string;
  redisUrl: string;
  minimalJobRows: number;
  nodeArgs: string[];
  timeoutMs: number;
}

export interface MinimalDrainResult {
  /** From starting the processes until the last change was applied. */
  seconds: number;
  /** When the first job was at the target, from the same start, and the highest seq it held then (as DrainResult's). */
  firstProgressAt: number;
  firstProgressSeq: number;
  jobRows: number;
  peakRssMiB: Record<string, number | null>;
  /** CPU seconds per component over the drain (as DrainResult.cpu). */
  cpu: Record<string, number>;
  machineBusy: number;
  otherCores: number;
  rows: RowComparison;
}

export async function measureMinimalDrain(options: MinimalDrainOptions, cleanup: Cleanup): Promise<MinimalDrainResult> {
  // Its own cleanup, run as soon as it is measured, so Tributary's drain starts on a quiet server; the
  // outer one covers an interruption (running a Cleanup twice is harmless).
  const own = new Cleanup();
  cleanup.add('minimal pipeline', () => own.run());
  try {
    const target = await createMinimalTarget(options.postgresUrl, own);
    const lastKey = await keyOfChange(options.source, options.maxSeq);
    note(`minimal pipeline: draining ${options.maxSeq} changes`);

    // Metered and timed from before the processes exist, as Tributary's drain is (cpuGroups reads `apps` lazily).
    const apps: AppProcess[] = [];
    const meter = new CpuMeter(cpuGroups(apps, MINIMAL_APP_NAMES));
    meter.start();
    const started = performance.now();
    apps.push(...startMinimalPipeline({ ...options, target, jobRows: options.minimalJobRows }, own));
    let progress: { firstProgressAt: number; firstProgressSeq: number };
    try {
      progress = await waitForChange(target, lastKey, options.maxSeq, apps, started, options.timeoutMs);
    } catch (error) {
      noteOutputs(apps);
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    const peakRssMiB = Object.fromEntries(apps.map((app) => [app.name, memoryMiB(app.pid, 'VmHWM')]));
    const { perGroup, machineBusy, otherCores } = meter.stop();
    perGroup.delete('bench');
    return {
      seconds,
      ...progress,
      jobRows: options.minimalJobRows,
      peakRssMiB,
      cpu: Object.fromEntries(perGroup),
      machineBusy,
      otherCores,
      rows: await compareRows(options.source, target, options.table, MINIMAL_LIVE_VIEW),
    };
  } finally {
    await own.run();
  }
}

/** The key (items' id) of the change at `seq`. */
async function keyOfChange(source: BenchDatabase, seq: number): Promise<number> {
  const [rows] = await source.knex.raw(`SELECT pk FROM \`${OUTBOX_TABLE}\` WHERE seq = ?`, [seq]);
  const found = (rows as Array<{ pk: string }>)[0];
  if (!found) throw new Error(`no outbox change at seq ${seq}`);
  return (JSON.parse(found.pk) as { id: number }).id;
}

/**
 * Jobs are applied one at a time in seq order, so once the row of the last
 * change carries its seq, every change before it is applied too. One primary
 * key lookup per poll (and a MAX over the table only until the first job is
 * in): the bench's polling stays out of the measurement.
 */
async function waitForChange(
  target: BenchDatabase,
  id: number,
  seq: number,
  apps: readonly AppProcess[],
  started: number,
  timeoutMs: number,
): Promise<{ firstProgressAt: number; firstProgressSeq: number }> {
  let reportedAt = 0;
  let firstProgressAt = Number.NaN;
  let firstProgressSeq = 0;
  for (;;) {
    assertAlive(apps, 'the drain');
    if (Number.isNaN(firstProgressAt)) {
      const at = (performance.now() - started) / 1000;
      const first = await target.knex.raw(`SELECT MAX(_seq) AS seq FROM ${MINIMAL_TABLE}`);
      const applied = (first as { rows: Array<{ seq: string | null }> }).rows[0].seq;
      if (applied !== null) [firstProgressAt, firstProgressSeq] = [at, Number(applied)];
    }
    const result = await target.knex.raw(`SELECT _seq FROM ${MINIMAL_TABLE} WHERE id = ?`, [id]);
    const row = (result as { rows: Array<{ _seq: string }> }).rows[0];
    if (row && Number(row._seq) >= seq) return { firstProgressAt, firstProgressSeq };
    const elapsed = performance.now() - started;
    if (elapsed - reportedAt >= 5000) {
      reportedAt = elapsed;
      note(`minimal drain t=${(elapsed / 1000).toFixed(0)}s`);
    }
    if (elapsed > timeoutMs) throw new Error(`the minimal pipeline did not drain in ${timeoutMs} ms`);
    await sleep(50);
  }
}

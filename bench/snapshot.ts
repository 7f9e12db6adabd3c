import { ProgressRepository, SnapshotRecord, SnapshotRepository } from '@tributary/control';
import { OUTBOX_TABLE } from '@tributary/db';
import { addPostgresTarget, announceChange, compareRows, countDeadLetters, cpuGroups, createBenchDeployment, RowComparison, tributaryEnv } from './deployment';
import { insertItemRange, itemsDdl } from './items';
import { CpuMeter, memoryMiB } from './proc';
import { assertAlive, waitForRelay } from './route-wait';
import { AppName, AppProcess, BenchDatabase, Cleanup, note, noteOutputs, sleep, startApp } from './support';

/**
 * Snapshot: a table that already holds rows when it is captured (so the
 * outbox is empty), then a route created through the setup layer, which
 * asks for an initial copy. Timed from that request until the copy is
 * `done`: the copier in the relay has written every row as a copy record and
 * the route has applied past the last of them.
 */
export interface SnapshotOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  /** Rows in the source table before capture (default 200k). */
  rows: number;
  /** Tributary settings for the apps (SNAPSHOT_CHUNK_ROWS, JOB_MAX_ROWS, ...), on top of the defaults. */
  appEnv: Record<string, string>;
  nodeArgs: string[];
  timeoutMs: number;
}

/** The pipeline at one moment of the copy; seqs and rows line up because the outbox holds only copy records. */
export interface SnapshotSample {
  at: number;
  status: string;
  rowsCopied: number;
  /** Highest seq the copier has written, the relay has read (its watermark), the route has applied. */
  copiedSeq: number;
  relaySeq: number;
  appliedSeq: number;
}

export interface SnapshotResult {
  rows: number;
  fillSeconds: number;
  /** From calling routes.create until the bench saw the snapshot `done`. */
  seconds: number;
  /** How long routes.create itself took (checks, row count, the request). */
  createSeconds: number;
  /** From the snapshot row's own timestamps (MariaDB clock): requested → started → copied → finished. */
  waitingSeconds: number;
  copyingSeconds: number;
  catchingUpSeconds: number;
  chunks: number;
  rowsCopied: number;
  finalSeq: number;
  /** Bench clock, from the request: when the bench saw the copy end, the route apply through finalSeq, the relay read it. */
  copiedAt: number;
  appliedAt: number | null;
  relayDoneAt: number | null;
  samples: SnapshotSample[];
  /** Largest gap between what the copier wrote and what the route applied, in copy records (the in-flight bound caps it). */
  maxAhead: number;
  peakRssMiB: Record<string, number | null>;
  /** CPU seconds per component, whole run and while copying (the rest is the catch-up). */
  cpu: Record<string, number>;
  cpuCopying: Record<string, number>;
  machineBusy: number;
  otherCores: number;
  outboxRows: number;
  deadLetters: number;
  verify: RowComparison & { status: string };
}

const TARGET_ID = 'pg';
const ROUTE_ID = 'items-snap';
const TABLE = 'items';
const FILL_CHUNK = 50_000;

export async function measureSnapshot(options: SnapshotOptions, cleanup: Cleanup): Promise<SnapshotResult> {
  const deployment = await createBenchDeployment(options, cleanup);
  const { source, postgres, sourceId, progress, snapshots, setup } = deployment;

  // Filled before capture: no trigger fires, so the rows reach the target only through the copy.
  await source.knex.raw(itemsDdl(TABLE));
  const fillSeconds = await fill(source, options.rows);
  note(`snapshot: ${options.rows} rows written in ${fillSeconds.toFixed(1)} s; capturing and starting the apps`);
  await setup.addSource(sourceId, source.url);
  await setup.captureTable(sourceId, TABLE);
  await addPostgresTarget(deployment, TARGET_ID);

  const env = tributaryEnv(deployment, options.redisUrl, options.appEnv);
  const names: AppName[] = ['relay', 'worker'];
  const apps: AppProcess[] = [];
  for (const name of names) apps.push(startApp(name, env, options.nodeArgs, cleanup));

  try {
    // Timed from the request, not from process start: start-up is the drain's business, the copy is this one's.
    await waitForRelay(progress, sourceId, apps);
    const whole = new CpuMeter(cpuGroups(apps));
    const copying = new CpuMeter(cpuGroups(apps));
    whole.start();
    copying.start();
    const started = performance.now();
    await setup.routes.create({ id: ROUTE_ID, sourceId, table: TABLE, targetId: TARGET_ID });
    await announceChange(deployment, options.redisUrl);
    const createSeconds = (performance.now() - started) / 1000;
    const watch = await waitForSnapshot(
      { progress, snapshots, sourceId, apps, started, timeoutMs: options.timeoutMs },
      // The copy phase ends when the copier records its last chunk; what is metered after it is the catch-up.
      () => copying.stop(),
    );
    const seconds = (performance.now() - started) / 1000;
    // Read while the processes still live: /proc forgets them once they exit.
    const peakRssMiB = Object.fromEntries(apps.map((app) => [app.name, memoryMiB(app.pid, 'VmHWM')]));
    const total = whole.stop();
    total.perGroup.delete('bench');
    watch.copyingCpu.delete('bench');
    await Promise.all(apps.map((app) => app.stop()));

    const record = watch.record;
    const [outbox] = await source.knex.raw(`SELECT COUNT(*) AS n FROM \`${OUTBOX_TABLE}\``);
    return {
      rows: options.rows,
      fillSeconds,
      seconds,
      createSeconds,
      waitingSeconds: secondsBetween(record.requestedAt, record.startedAt),
      copyingSeconds: secondsBetween(record.startedAt, record.copiedAt),
      catchingUpSeconds: secondsBetween(record.copiedAt, record.finishedAt),
      chunks: record.chunks,
      rowsCopied: record.rowsCopied,
      finalSeq: record.finalSeq ?? 0,
      copiedAt: watch.copiedAt,
      appliedAt: watch.appliedAt,
      relayDoneAt: watch.relayDoneAt,
      samples: watch.samples,
      maxAhead: watch.maxAhead,
      peakRssMiB,
      cpu: Object.fromEntries(total.perGroup),
      cpuCopying: Object.fromEntries(watch.copyingCpu),
      machineBusy: total.machineBusy,
      otherCores: total.otherCores,
      outboxRows: Number((outbox as Array<{ n: number }>)[0].n),
      deadLetters: await countDeadLetters(deployment, [ROUTE_ID]),
      verify: { status: record.status, ...(await compareRows(source, postgres, TABLE)) },
    };
  } catch (error) {
    noteOutputs(apps);
    throw error;
  }
}

/** The source rows, as the drain's inserts make them, written with no trigger on the table; returns the seconds taken. */
async function fill(source: BenchDatabase, rows: number): Promise<number> {
  const started = performance.now();
  for (let from = 1; from <= rows; from += FILL_CHUNK) {
    await insertItemRange(source.knex, TABLE, from, Math.min(rows, from + FILL_CHUNK - 1));
  }
  // The copier's progress estimate reads TABLE_ROWS; fresh statistics make it (and the bench's log) meaningful.
  await source.knex.raw(`ANALYZE TABLE ${TABLE}`);
  return (performance.now() - started) / 1000;
}

interface WatchContext {
  progress: ProgressRepository;
  snapshots: SnapshotRepository;
  sourceId: string;
  apps: readonly AppProcess[];
  started: number;
  timeoutMs: number;
}

interface Watch {
  record: SnapshotRecord;
  copiedAt: number;
  appliedAt: number | null;
  relayDoneAt: number | null;
  samples: SnapshotSample[];
  maxAhead: number;
  copyingCpu: Map<string, number>;
}

/**
 * Polls the snapshot row, the relay and the route until the snapshot is
 * done; calls `copied` once, when the copier has recorded its last chunk.
 * Fails fast if an app dies or the copy fails or is cancelled.
 */
async function waitForSnapshot(context: WatchContext, copied: () => { perGroup: Map<string, number> }): Promise<Watch> {
  const { progress, snapshots, sourceId, apps, started, timeoutMs } = context;
  const samples: SnapshotSample[] = [];
  let copyingCpu: Map<string, number> | null = null;
  let copiedAt = Number.NaN;
  let appliedAt: number | null = null;
  let relayDoneAt: number | null = null;
  let maxAhead = 0;
  let sampledAt = -1;
  let reportedAt = 0;
  for (;;) {
    const elapsed = (performance.now() - started) / 1000;
    assertAlive(apps, 'the copy');
    const record = await snapshots.get(ROUTE_ID);
    if (!record) throw new Error(`route ${ROUTE_ID} has no snapshot row: the copy was not requested`);
    if (record.status === 'failed' || record.status === 'cancelled') throw new Error(`the copy ${record.status}: ${record.error}`);
    const [route] = await progress.listProgress([ROUTE_ID]);
    const relay = await progress.loadRelayState(sourceId);
    const sample: SnapshotSample = {
      at: elapsed,
      status: record.status,
      rowsCopied: record.rowsCopied,
      copiedSeq: record.lastSeq ?? 0,
      relaySeq: relay?.watermark ?? 0,
      appliedSeq: route?.watermark ?? 0,
    };
    maxAhead = Math.max(maxAhead, sample.copiedSeq - sample.appliedSeq);
    if (copyingCpu === null && record.finalSeq !== null) {
      copyingCpu = copied().perGroup;
      copiedAt = elapsed;
    }
    if (record.finalSeq !== null) {
      if (relayDoneAt === null && sample.relaySeq >= record.finalSeq) relayDoneAt = elapsed;
      if (appliedAt === null && sample.appliedSeq >= record.finalSeq) appliedAt = elapsed;
    }
    // One sample a second is enough to show where the pipeline waits.
    if (Math.floor(elapsed) > sampledAt) {
      sampledAt = Math.floor(elapsed);
      samples.push(sample);
    }
    if (record.status === 'done' && appliedAt !== null) {
      if (samples[samples.length - 1] !== sample) samples.push(sample);
      return { record, copiedAt, appliedAt, relayDoneAt, samples, maxAhead, copyingCpu: copyingCpu ?? new Map() };
    }
    if (elapsed - reportedAt >= 5) {
      reportedAt = elapsed;
      note(
        `snapshot t=${elapsed.toFixed(0)}s: ${record.status}, ${record.rowsCopied} rows copied (seq ${sample.copiedSeq}), ` +
          `relay at ${sample.relaySeq}, route at ${sample.appliedSeq}`,
      );
    }
    if (elapsed * 1000 > timeoutMs) throw new Error(`the copy did not finish in ${timeoutMs} ms (${record.status}, ${record.rowsCopied} rows copied)`);
    await sleep(100);
  }
}

function secondsBetween(from: Date | null, to: Date | null): number {
  return from && to ? (to.getTime() - from.getTime()) / 1000 : Number.NaN;
}

/** CPU groups as the drain's: each app, and every process of the servers it talks to. */

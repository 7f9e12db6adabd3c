import { ProgressRepository } from '@tributary/control';
import { OUTBOX_TABLE } from '@tributary/db';
import { freePort } from '../libs/testing/src/redis-server';
import { compareRows, countDeadLetters, cpuGroups, createBenchDeployment, routeItemsToPostgres, tributaryEnv } from './deployment';
import { insertItemRange } from './items';
import { measureMinimalDrain, MinimalDrainResult } from './minimal/drain';
import { every } from './periodic';
import { CpuMeter, memoryMiB } from './proc';
import { assertAlive } from './route-wait';
import { AppName, AppProcess, BenchDatabase, Cleanup, note, noteOutputs, sleep, startApp } from './support';

/**
 * Drain: a backlog written through the capture triggers while no relay runs,
 * then the compiled apps started, timed until the route's durable progress
 * covers every change in the outbox.
 */
export interface DrainOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  /** Rows inserted; then two thirds of them updated and a twelfth deleted (default 120k → 210k changes). */
  inserts: number;
  /** `split`: relay and worker processes (as deployed); `allinone`: the single `tributary` process. */
  apps: 'split' | 'allinone';
  /** Tributary settings for the apps (RELAY_BATCH_ROWS, JOB_MAX_ROWS, ...), on top of the defaults. */
  appEnv: Record<string, string>;
  /** Extra node flags for the apps, e.g. --prof to find where their time goes. */
  nodeArgs: string[];
  /**
   * Run ANALYZE on the target every so many seconds during the drain, as
   * autovacuum's autoanalyze would (null: never). For servers that run with
   * autovacuum off, where the target's planner statistics never appear.
   */
  pgAnalyzeSeconds: number | null;
  timeoutMs: number;
  /** Run the minimal pipeline (bench/minimal) on the same backlog first, as the baseline of issue #10. */
  minimal: boolean;
  /** Rows per job of the minimal pipeline (a seq range of at most this many changes). */
  minimalJobRows: number;
}

export interface DrainResult {
  backlog: { inserts: number; updates: number; deletes: number; changes: number; maxSeq: number; writeSeconds: number };
  /** From starting the apps until the route's watermark reached the outbox's max seq. */
  seconds: number;
  /** When the route first moved, from the same start (process start-up, first poll, first batch), and where it was then. */
  firstProgressAt: number;
  firstProgressSeq: number;
  /**
   * When the relay's watermark (its read position in the outbox) reached the end of the backlog: all of it
   * owed to the route as seq ranges by then, though only one job per route at a time is in Redis.
   */
  relayDoneAt: number | null;
  peakRssMiB: Record<string, number | null>;
  /** CPU seconds per component over the drain, and the machine's busy share (1 = both cores busy). */
  cpu: Record<string, number>;
  machineBusy: number;
  /** Cores used by processes outside the pipeline and the bench during the drain: the noise. */
  otherCores: number;
  appliedTotal: number;
  deadLetters: number;
  rows: { source: number; target: number; sourceSum: string; targetSum: string };
  /** The minimal pipeline's drain of the same backlog, run just before (null if BENCH_MINIMAL=off). */
  minimal: MinimalDrainResult | null;
}

const TARGET_ID = 'pg';
const ROUTE_ID = 'items-pg';
const TABLE = 'items';
const WRITE_CHUNK = 10_000;

export async function measureDrain(options: DrainOptions, cleanup: Cleanup): Promise<DrainResult> {
  const deployment = await createBenchDeployment(options, cleanup);
  const { source, postgres, sourceId, progress } = deployment;

  // The route must exist before the backlog (and with no relay state yet it starts at 0).
  await routeItemsToPostgres(deployment, { table: TABLE, targetId: TARGET_ID, routeId: ROUTE_ID });

  const backlog = await writeBacklog(source, options.inserts);
  note(`backlog: ${backlog.changes} changes written in ${backlog.writeSeconds.toFixed(1)} s`);

  // The baseline first, on the same outbox (it only reads it), so both drains see the same backlog in the same minutes.
  const minimal = options.minimal ? await measureMinimalDrain({ ...options, source, table: TABLE, maxSeq: backlog.maxSeq }, cleanup) : null;
  note('drain: starting the apps');

  const env = tributaryEnv(deployment, options.redisUrl, options.appEnv);
  const names: AppName[] = options.apps === 'split' ? ['relay', 'worker'] : ['tributary'];
  if (options.apps === 'allinone') env.ADMIN_PORT = String(await freePort());

  const apps: AppProcess[] = [];
  const meter = new CpuMeter(cpuGroups(apps));
  meter.start();
  const started = performance.now();
  for (const name of names) apps.push(startApp(name, env, options.nodeArgs, cleanup));

  const stopAnalyzing = analyzePeriodically(postgres, options.pgAnalyzeSeconds, cleanup);
  try {
    const timing = await waitForDrain(progress, sourceId, apps, backlog.maxSeq, started, options.timeoutMs);
    await stopAnalyzing();
    const seconds = (performance.now() - started) / 1000;
    // Read while the processes still live: /proc forgets them once they exit.
    const peakRssMiB = Object.fromEntries(apps.map((app) => [app.name, memoryMiB(app.pid, 'VmHWM')]));
    const { perGroup, machineBusy, otherCores } = meter.stop();
    // The bench's own polling is metered only so that it is not counted as noise; it is not a component.
    perGroup.delete('bench');
    await Promise.all(apps.map((app) => app.stop()));

    const [route] = await progress.listProgress([ROUTE_ID]);
    return {
      backlog,
      seconds,
      ...timing,
      peakRssMiB,
      cpu: Object.fromEntries(perGroup),
      machineBusy,
      otherCores,
      appliedTotal: route.appliedTotal,
      deadLetters: await countDeadLetters(deployment, [ROUTE_ID]),
      rows: await compareRows(source, postgres, TABLE),
      minimal,
    };
  } catch (error) {
    noteOutputs(apps);
    throw error;
  }
}

/** Starts the ANALYZE loop (see DrainOptions.pgAnalyzeSeconds); the returned function stops it and waits for it. */
function analyzePeriodically(postgres: BenchDatabase, everySeconds: number | null, cleanup: Cleanup): () => Promise<void> {
  if (everySeconds === null) return async () => undefined;
  return every(
    everySeconds * 1000,
    async () => {
      await postgres.knex.raw('ANALYZE');
    },
    cleanup,
  );
}

/**
 * Writes the backlog through the triggers with set-based statements (one
 * outbox row per row changed): inserts from MariaDB's SEQUENCE engine, then
 * updates and deletes by key range, in chunks so no transaction is huge.
 * Writes table `items` (itemsDdl).
 */
export async function writeBacklog(source: BenchDatabase, inserts: number): Promise<DrainResult['backlog']> {
  const updates = Math.floor((inserts * 2) / 3);
  const deletes = Math.floor(inserts / 12);
  const started = performance.now();
  for (const [from, to] of chunks(1, inserts)) {
    await insertItemRange(source.knex, TABLE, from, to);
  }
  for (const [from, to] of chunks(1, updates)) {
    await source.knex.raw(`UPDATE ${TABLE} SET amount = amount + 1.25, name = CONCAT(name, '+'), noted = NOW(6) WHERE id BETWEEN ? AND ?`, [from, to]);
  }
  for (const [from, to] of chunks(inserts - deletes + 1, inserts)) {
    await source.knex.raw(`DELETE FROM ${TABLE} WHERE id BETWEEN ? AND ?`, [from, to]);
  }
  const writeSeconds = (performance.now() - started) / 1000;
  const [rows] = await source.knex.raw(`SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS m FROM \`${OUTBOX_TABLE}\``);
  const { n, m } = (rows as Array<{ n: number; m: number }>)[0];
  return { inserts, updates, deletes, changes: Number(n), maxSeq: Number(m), writeSeconds };
}

/** Inserts for a backlog of about `changes` changes: each insert brings 1 + 2/3 + 1/12 of them (writeBacklog). */
export function insertsForChanges(changes: number): number {
  return Math.ceil(changes / (1 + 2 / 3 + 1 / 12));
}

function chunks(from: number, to: number): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  for (let start = from; start <= to; start += WRITE_CHUNK) result.push([start, Math.min(to, start + WRITE_CHUNK - 1)]);
  return result;
}

/** Polls the control schema until the route has durably applied through `maxSeq`; fails fast if an app dies. */
export async function waitForDrain(
  progress: ProgressRepository,
  sourceId: string,
  apps: readonly AppProcess[],
  maxSeq: number,
  started: number,
  timeoutMs: number,
  routeId = ROUTE_ID,
): Promise<{ firstProgressAt: number; firstProgressSeq: number; relayDoneAt: number | null }> {
  let firstProgressAt = Number.NaN;
  let firstProgressSeq = 0;
  let relayDoneAt: number | null = null;
  let reportedAt = 0;
  for (;;) {
    const elapsed = (performance.now() - started) / 1000;
    assertAlive(apps, 'the drain');
    const [route] = await progress.listProgress([routeId]);
    const relay = await progress.loadRelayState(sourceId);
    const applied = route?.watermark ?? 0;
    if (applied > 0 && Number.isNaN(firstProgressAt)) {
      firstProgressAt = elapsed;
      firstProgressSeq = applied;
    }
    if (relayDoneAt === null && relay && relay.watermark >= maxSeq) relayDoneAt = elapsed;
    if (applied >= maxSeq) return { firstProgressAt, firstProgressSeq, relayDoneAt };
    if (elapsed - reportedAt >= 5) {
      reportedAt = elapsed;
      // A partitioned route's partitions one by one: one that lags (a worker doing two) shows while it happens.
      const partitions = route?.partitions ? ` (partitions at ${route.partitions.map((feed) => feed.watermark).join(', ')})` : '';
      note(`drain t=${elapsed.toFixed(0)}s: relay at ${relay?.watermark ?? 0}, route at ${applied}${partitions} of ${maxSeq}`);
    }
    if (elapsed * 1000 > timeoutMs) throw new Error(`drain did not finish in ${timeoutMs} ms (route at ${applied} of ${maxSeq})`);
    await sleep(100);
  }
}

import { cpus } from 'node:os';
import { loadConfig } from '@tributary/config';
import { appEntry } from '@tributary/testing/app-entry';
import { addPostgresTarget, captureItems, compareRows, countDeadLetters, cpuGroups, createBenchDeployment, RowComparison, rowsEqual, tributaryEnv } from './deployment';
import { DrainResult, waitForDrain, writeBacklog } from './drain';
import { cpuUse, formatInt, table } from './format';
import { CpuMeter, pidsByName } from './proc';
import { APP_NODE_FLAGS, AppProcess, Cleanup, median, note, noteOutputs, ROOT, startApp, startScript, steadyRate } from './support';

/**
 * Partitions: the drain's backlog of one busy table, applied by one relay
 * and two worker processes, its route once whole (one partition: one job in
 * flight, so one worker at a time) and once cut in two (two feeds, so both
 * workers can apply at once). Runs alternate 1, 2, 2, 1, ... so a machine
 * that warms up or slows down over the run favours neither, and each run
 * has its own databases and Redis keys, so none inherits another's state.
 */
export interface PartitionsOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  /** Rows inserted per run; then updated and deleted as the drain's backlog (writeBacklog: 60k → 105k changes). */
  inserts: number;
  /** Pairs of runs, one of each number of partitions. */
  pairs: number;
  /** Tributary settings for the apps, on top of the defaults. */
  appEnv: Record<string, string>;
  nodeArgs: string[];
  /** Bound on each run's drain. */
  timeoutMs: number;
}

export interface PartitionsRun {
  partitions: number;
  backlog: DrainResult['backlog'];
  /** From starting the processes until the route's watermark (its partitions' lowest) reached the backlog's last seq. */
  seconds: number;
  /** When the route's watermark first moved (every partition had applied a batch), and where it was then. */
  firstProgressAt: number;
  firstProgressSeq: number;
  /** When the relay had read the whole backlog. */
  relayDoneAt: number | null;
  /**
   * CPU seconds over the drain per process group (PROCESSES), the bench's
   * own polling (`bench`) and the rest of the machine (`other`), so the
   * shares of their sum add up to what the machine did.
   */
  cpu: Record<string, number>;
  /** The machine's busy share over the drain (1 = every core busy). */
  machineBusy: number;
  deadLetters: number;
  rows: RowComparison;
}

/** A pair's drain rates (outbox rows/s) and two partitions' over one's. */
export interface PartitionsPair {
  one: number;
  two: number;
  ratio: number;
}

export interface PartitionsResult {
  options: Pick<PartitionsOptions, 'inserts' | 'pairs' | 'appEnv' | 'nodeArgs'>;
  cores: number;
  /** In the order run. */
  runs: PartitionsRun[];
  pairs: PartitionsPair[];
  medianRatio: number;
}

const TARGET_ID = 'pg';
const ROUTE_ID = 'items-pg';
/** writeBacklog's table. */
const TABLE = 'items';
/** Named apart (startApp would name both `worker`), so the CPU table tells them apart. */
const WORKERS = ['worker A', 'worker B'];
/** The MariaDB server's process name: mariadbd, or mysqld in older packages. */
const MARIADB_NAMES = ['mariadbd', 'mysqld'];

export async function measurePartitions(options: PartitionsOptions, cleanup: Cleanup): Promise<PartitionsResult> {
  const order = Array.from({ length: options.pairs }, (_, pair) => (pair % 2 === 0 ? [1, 2] : [2, 1])).flat();
  const runs: PartitionsRun[] = [];
  for (const [i, partitions] of order.entries()) {
    note(`partitions: run ${i + 1} of ${order.length}, ${partitions} partition${partitions > 1 ? 's' : ''}`);
    runs.push(await measureRun(options, partitions, cleanup));
  }
  const rate = (run: PartitionsRun) => run.backlog.changes / run.seconds;
  const pairs = Array.from({ length: options.pairs }, (_, pair) => {
    const both = runs.slice(pair * 2, pair * 2 + 2);
    const [one, two] = [1, 2].map((count) => rate(both.find((run) => run.partitions === count)!));
    return { one, two, ratio: two / one };
  });
  return {
    options: { inserts: options.inserts, pairs: options.pairs, appEnv: options.appEnv, nodeArgs: options.nodeArgs },
    cores: cpus().length,
    runs,
    pairs,
    medianRatio: median(pairs.map((pair) => pair.ratio)),
  };
}

/** One drain on a deployment of its own, removed as soon as it is measured so the next run starts on a quiet server. */
async function measureRun(options: PartitionsOptions, partitions: number, cleanup: Cleanup): Promise<PartitionsRun> {
  // The outer cleanup covers an interruption (running a Cleanup twice is harmless).
  const own = new Cleanup();
  cleanup.add(`partitions run (${partitions})`, () => own.run());
  const apps: AppProcess[] = [];
  try {
    const deployment = await createBenchDeployment(options, own);
    const { source, postgres, sourceId, progress } = deployment;
    // The route before the backlog: with no relay state yet, each of its feeds starts at 0.
    await captureItems(deployment, TABLE);
    await addPostgresTarget(deployment, TARGET_ID);
    await deployment.setup.addRoute({ id: ROUTE_ID, sourceId, table: TABLE, targetId: TARGET_ID, targetTable: TABLE, enabled: true, partitions });
    const backlog = await writeBacklog(source, options.inserts);
    note(`partitions: ${backlog.changes} changes written in ${backlog.writeSeconds.toFixed(1)} s; starting the relay and two workers`);

    const env = tributaryEnv(deployment, options.redisUrl, options.appEnv);
    // Metered and timed from before the processes exist, as the drain is (the groups read `apps` lazily).
    const meter = new CpuMeter(processGroups(apps));
    meter.start();
    const started = performance.now();
    apps.push(startApp('relay', env, options.nodeArgs, own));
    for (const name of WORKERS) apps.push(startScript(name, appEntry(ROOT, 'worker'), env, [...APP_NODE_FLAGS, ...options.nodeArgs], own));
    const timing = await waitForDrain(progress, sourceId, apps, backlog.maxSeq, started, options.timeoutMs, ROUTE_ID);
    const seconds = (performance.now() - started) / 1000;
    const { perGroup, machineBusy, otherCores } = meter.stop();
    await Promise.all(apps.map((app) => app.stop()));

    const rows = await compareRows(source, postgres, TABLE);
    const deadLetters = await countDeadLetters(deployment, [ROUTE_ID]);
    if (!rowsEqual(rows) || deadLetters > 0) note(`partitions: the target does NOT equal the source (${JSON.stringify(rows)}, ${deadLetters} dead letters)`);
    return {
      partitions,
      backlog,
      seconds,
      ...timing,
      cpu: { ...Object.fromEntries(perGroup), other: otherCores * seconds },
      machineBusy,
      deadLetters,
      rows,
    };
  } catch (error) {
    noteOutputs(apps);
    throw error;
  } finally {
    await own.run();
  }
}

/** cpuGroups with the two workers apart, and MariaDB under either name its server runs as. */
function processGroups(apps: readonly AppProcess[]): Map<string, () => number[]> {
  const groups = cpuGroups(apps, ['relay', ...WORKERS]);
  groups.set('mariadb', () => [...pidsByName(MARIADB_NAMES).values()].flat());
  return groups;
}

/** Every run's target equals its source, nothing dead-lettered. */
export function partitionsVerified(result: PartitionsResult): boolean {
  return result.runs.every(runVerified);
}

function runVerified(run: PartitionsRun): boolean {
  return rowsEqual(run.rows) && run.deadLetters === 0;
}

/** How the CPU table names a group; the others by their group name. */
const PROCESS_LABELS: Record<string, string> = {
  postgres: 'postgres (all backends)',
  bench: 'bench (its polling)',
  other: 'other processes',
};

export function partitionsReport(result: PartitionsResult): string[] {
  const { options, runs } = result;
  const config = loadConfig(options.appEnv);
  const label = (run: PartitionsRun, i: number) => `#${i + 1} ${run.partitions}p`;
  const seconds = (value: number | null) => (value === null || Number.isNaN(value) ? '?' : value.toFixed(1));
  const { backlog } = runs[0];
  const total = (run: PartitionsRun) => Object.values(run.cpu).reduce((sum, used) => sum + used, 0);
  const cpuRows = Object.keys(runs[0].cpu).map((group) => [
    PROCESS_LABELS[group] ?? group,
    ...runs.map((run) => `${(run.cpu[group] ?? 0).toFixed(1)} s ${(((run.cpu[group] ?? 0) / total(run)) * 100).toFixed(0).padStart(3)}%`),
  ]);
  cpuRows.push(
    ['total', ...runs.map((run) => `${total(run).toFixed(1)} s 100%`)],
    ['machine busy (all cores)', ...runs.map((run) => `${(run.machineBusy * 100).toFixed(0)}%`)],
  );
  return [
    `Partitions: a backlog of ${formatInt(backlog.changes)} changes in one table (the drain's: ${formatInt(options.inserts)} inserts, then ` +
      `updates and deletes) → PostgreSQL, one relay and two worker processes, the route whole (1p) or cut in two (2p); ` +
      `${runs.length} runs in ${options.pairs} alternating pairs, each on fresh databases and Redis keys, timed from starting the ` +
      `processes until the route's watermark (its partitions' lowest) reached the last seq`,
    table(
      ['run', 'partitions', 'drain (s)', 'outbox rows/s', 'after the first batch', 'relay read all at (s)', 'rows source / target', 'dead letters', 'verified'],
      runs.map((run, i) => [
        `#${i + 1}`,
        String(run.partitions),
        run.seconds.toFixed(1),
        formatInt(run.backlog.changes / run.seconds),
        formatIfNumber(steadyRate(run.seconds, run.firstProgressAt, run.firstProgressSeq, run.backlog.maxSeq)),
        seconds(run.relayDoneAt),
        `${formatInt(run.rows.source)} / ${formatInt(run.rows.target)}`,
        String(run.deadLetters),
        runVerified(run) ? 'yes' : 'NO',
      ]),
    ),
    table(
      ['pair', '1 partition rows/s', '2 partitions rows/s', '2p / 1p'],
      [
        ...result.pairs.map((pair, i) => [String(i + 1), formatInt(pair.one), formatInt(pair.two), pair.ratio.toFixed(2)]),
        ['median', '', '', result.medianRatio.toFixed(2)],
      ],
    ),
    `CPU per process during each drain: seconds and share of all the CPU the machine used then ` +
      `(${result.cores} cores: a drain of t s had ${result.cores}·t CPU seconds to use)`,
    table(['process', ...runs.map(label)], cpuRows),
    'the same as % of one core (a Node process near 100% is held by its one thread):',
    ...runs.map((run, i) => `  ${label(run, i)}: ${cpuUse(run.cpu, run.seconds)}`),
    `settings: WORKER_CONCURRENCY=${config.worker.concurrency} JOB_MAX_ROWS=${config.relay.jobMaxRows} RELAY_BATCH_ROWS=${config.relay.batchRows}` +
      (options.nodeArgs.length > 0 ? ` node ${options.nodeArgs.join(' ')}` : ''),
  ];
}

function formatIfNumber(value: number): string {
  return Number.isNaN(value) ? '-' : formatInt(value);
}

import { cpus } from 'node:os';
import { loadConfig } from '@tributary/config';
import { appEntry } from '@tributary/testing/app-entry';
import { addPostgresTarget, BenchDeployment, captureItems, compareRows, countDeadLetters, cpuGroups, createBenchDeployment, RowComparison, rowsEqual, tributaryEnv } from './deployment';
import { itemsDdl } from './items';
import { DrainResult, waitForDrain, writeBacklog } from './drain';
import { cpuUse, formatInt, table } from './format';
import { CpuMeter, pidsByName } from './proc';
import { APP_NODE_FLAGS, AppProcess, Cleanup, createMysqlDatabase, median, note, noteOutputs, ROOT, startApp, startScript, steadyRate, uniqueName } from './support';

/**
 * Paired drains: the drain's backlog of one busy table, applied by one relay
 * and two worker processes, in two variants of its route whose rates are
 * compared pair by pair. Runs alternate A, B, B, A, ... so a machine that
 * warms up or slows down over the run favours neither, and each run has its
 * own databases and Redis keys, so none inherits another's state.
 *
 * - partitions: the route whole (one partition: one job in flight, so one
 *   worker at a time) against cut in two (two feeds, both workers at once);
 * - shared-keys: the route alone in its target table (one version per row)
 *   against sharing it with a second source's route (versions per source:
 *   a locked read and a write of the versions per batch, issue #14).
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

/** One way to route the table, as a run measures it. */
export interface DrainVariant {
  /** Short label in the tables, e.g. 1p. */
  label: string;
  partitions: number;
  /** A second (empty) source routes the same table into the same target table, sharing its keys. */
  sharedWithSecondSource: boolean;
}

export const PARTITION_VARIANTS: [DrainVariant, DrainVariant] = [
  { label: '1p', partitions: 1, sharedWithSecondSource: false },
  { label: '2p', partitions: 2, sharedWithSecondSource: false },
];

export const SHARED_KEY_VARIANTS: [DrainVariant, DrainVariant] = [
  { label: 'alone', partitions: 1, sharedWithSecondSource: false },
  { label: 'shared', partitions: 1, sharedWithSecondSource: true },
];

export interface PartitionsRun {
  variant: DrainVariant;
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

/** A pair's drain rates (outbox rows/s): the first variant's, the second's, and second over first. */
export interface PartitionsPair {
  first: number;
  second: number;
  ratio: number;
}

export interface PartitionsResult {
  options: Pick<PartitionsOptions, 'inserts' | 'pairs' | 'appEnv' | 'nodeArgs'>;
  variants: [DrainVariant, DrainVariant];
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

export async function measurePartitions(options: PartitionsOptions, cleanup: Cleanup, variants = PARTITION_VARIANTS): Promise<PartitionsResult> {
  const [a, b] = variants;
  const order = Array.from({ length: options.pairs }, (_, pair) => (pair % 2 === 0 ? [a, b] : [b, a])).flat();
  const runs: PartitionsRun[] = [];
  for (const [i, variant] of order.entries()) {
    note(`paired drains: run ${i + 1} of ${order.length}, ${variant.label}`);
    runs.push(await measureRun(options, variant, cleanup));
  }
  const rate = (run: PartitionsRun) => run.backlog.changes / run.seconds;
  const pairs = Array.from({ length: options.pairs }, (_, pair) => {
    const both = runs.slice(pair * 2, pair * 2 + 2);
    const [first, second] = variants.map((variant) => rate(both.find((run) => run.variant === variant)!));
    return { first, second, ratio: second / first };
  });
  return {
    options: { inserts: options.inserts, pairs: options.pairs, appEnv: options.appEnv, nodeArgs: options.nodeArgs },
    variants,
    cores: cpus().length,
    runs,
    pairs,
    medianRatio: median(pairs.map((pair) => pair.ratio)),
  };
}

/** One drain on a deployment of its own, removed as soon as it is measured so the next run starts on a quiet server. */
async function measureRun(options: PartitionsOptions, variant: DrainVariant, cleanup: Cleanup): Promise<PartitionsRun> {
  const { partitions } = variant;
  // The outer cleanup covers an interruption (running a Cleanup twice is harmless).
  const own = new Cleanup();
  cleanup.add(`paired drain run (${variant.label})`, () => own.run());
  const apps: AppProcess[] = [];
  try {
    const deployment = await createBenchDeployment(options, own);
    const { source, postgres, sourceId, progress } = deployment;
    // The route before the backlog: with no relay state yet, each of its feeds starts at 0.
    await captureItems(deployment, TABLE);
    await addPostgresTarget(deployment, TARGET_ID);
    await deployment.setup.addRoute({ id: ROUTE_ID, sourceId, table: TABLE, targetId: TARGET_ID, targetTable: TABLE, enabled: true, partitions });
    if (variant.sharedWithSecondSource) await routeSecondSource(deployment, options.mysqlUrl, own);
    const backlog = await writeBacklog(source, options.inserts);
    note(`paired drains: ${backlog.changes} changes written in ${backlog.writeSeconds.toFixed(1)} s; starting the relay and two workers`);

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
    if (!rowsEqual(rows) || deadLetters > 0) note(`paired drains: the target does NOT equal the source (${JSON.stringify(rows)}, ${deadLetters} dead letters)`);
    return {
      variant,
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

/**
 * A second source with the same (empty) table, routed into the same target
 * table with shared keys: the first route's batches then keep versions per
 * source, which is what the shared-keys runs measure.
 */
async function routeSecondSource(deployment: BenchDeployment, mysqlUrl: string, cleanup: Cleanup): Promise<void> {
  const second = await createMysqlDatabase(mysqlUrl, 'trib_bench_src2', cleanup);
  const sourceId = uniqueName('src2');
  await second.knex.raw(itemsDdl(TABLE));
  await deployment.setup.addSource(sourceId, second.url);
  await deployment.setup.captureTable(sourceId, TABLE);
  await deployment.setup.routes.create({ id: `${ROUTE_ID}-2`, sourceId, table: TABLE, targetId: TARGET_ID, targetTable: TABLE, initialCopy: false, shareTargetTable: true });
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
  const label = (run: PartitionsRun, i: number) => `#${i + 1} ${run.variant.label}`;
  const [a, b] = result.variants;
  const shared = a.sharedWithSecondSource || b.sharedWithSecondSource;
  const title = shared ? 'Shared keys' : 'Partitions';
  const compared = shared
    ? `the route alone in its target table (${a.label}: one version per row) or sharing it with a second source's route (${b.label}: versions per source)`
    : `the route whole (${a.label}) or cut in two (${b.label})`;
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
    `${title}: a backlog of ${formatInt(backlog.changes)} changes in one table (the drain's: ${formatInt(options.inserts)} inserts, then ` +
      `updates and deletes) → PostgreSQL, one relay and two worker processes, ${compared}; ` +
      `${runs.length} runs in ${options.pairs} alternating pairs, each on fresh databases and Redis keys, timed from starting the ` +
      `processes until the route's watermark (its partitions' lowest) reached the last seq`,
    table(
      ['run', 'variant', 'drain (s)', 'outbox rows/s', 'after the first batch', 'relay read all at (s)', 'rows source / target', 'dead letters', 'verified'],
      runs.map((run, i) => [
        `#${i + 1}`,
        run.variant.label,
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
      ['pair', `${a.label} rows/s`, `${b.label} rows/s`, `${b.label} / ${a.label}`],
      [
        ...result.pairs.map((pair, i) => [String(i + 1), formatInt(pair.first), formatInt(pair.second), pair.ratio.toFixed(2)]),
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

import { installCapture } from '@tributary/capture';
import { migrateOutbox } from '@tributary/db';
import { cpuGroups, createBenchDeployment, routeItemsToPostgres, tributaryEnv } from './deployment';
import { itemsDdl } from './items';
import { VisibilityProbe, waitForRows } from './latency-probe';
import { createMinimalTarget, MINIMAL_APP_NAMES, startMinimalPipeline } from './minimal/pipeline';
import { PacedRun, PacedWriter } from './paced-writer';
import { CpuMeter } from './proc';
import { AppProcess, BenchDatabase, Cleanup, createMysqlDatabase, note, startApp } from './support';

/**
 * Latency (issue #10, measurement a): steady single-row insert rates into a
 * captured table, each for a fixed time, measured from the moment the
 * source's autocommit INSERT returned to the moment the row's transaction
 * committed at PostgreSQL (VisibilityProbe). Run for Tributary (relay and
 * worker processes) and for the minimal pipeline, each with its own source
 * database, so neither reads the other's changes; both run throughout and
 * the rates alternate between them, so both meet the same machine.
 */
export interface LatencyOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  /** Aggregate insert rates (rows/s), measured in this order. */
  rates: number[];
  /** How long each rate is written, per pipeline. */
  seconds: number;
  /** Writer connections sharing each rate; null: writerLanes(rate). */
  connections: number | null;
  /** Tributary settings for the apps, on top of the defaults. */
  appEnv: Record<string, string>;
  nodeArgs: string[];
  /** Most changes per job of the minimal pipeline. */
  minimalJobRows: number;
  /** Bound on each wait (warm-up, the rows of one phase). */
  timeoutMs: number;
}

export type PipelineName = 'tributary' | 'minimal';

/** Nearest-rank percentiles, ms. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** One pipeline at one rate. */
export interface LatencyPhase {
  pipeline: PipelineName;
  rate: number;
  /** Writer connections that shared the rate. */
  connections: number;
  achievedRate: number;
  /** Rows written (all committed at the source). */
  rows: number;
  /** Rows that never became visible at the target before the wait gave up. */
  missing: number;
  /** Commit at the source → visible at the target, over the rows that arrived (null: none did). */
  visible: Percentiles | null;
  /** The INSERT's own round trip at the source (trigger and commit included). */
  write: Percentiles;
  /** CPU per component over the phase, in cores (1 = one core busy the whole time). */
  cpuCores: Record<string, number>;
  /** Cores used by processes outside the pipeline, its servers and the bench: the noise. */
  otherCores: number;
}

export interface LatencyResult {
  seconds: number;
  phases: LatencyPhase[];
}

const TABLE = 'items';
/** Rows written before measuring: the target table exists, connections and JIT are warm. Ids -N..-1. */
const WARM_UP_ROWS = 100;
/** A phase's wait for its rows gives up after this long without a new arrival. */
const STALL_MS = 15_000;
/** Ids of the rate at index i start at 1 + i * ID_STRIDE, so phases never touch each other's rows. */
const ID_STRIDE = 10_000_000;
/** Writer connections by default: at least 4, and one per this many rows/s (a connection has 8 ms per autocommit INSERT). */
const ROWS_PER_CONNECTION = 125;

/**
 * Connections for `rate` unless set: an autocommit INSERT waits for its
 * commit's fsync, a few ms on a busy machine, so a fixed handful of
 * connections could not reach the higher rates and would measure the writers.
 */
export function writerLanes(rate: number, connections: number | null): number {
  return connections ?? Math.max(4, Math.ceil(rate / ROWS_PER_CONNECTION));
}

/** A pipeline under test, ready to measure: writes go to `source`, `probe` sees them arrive. */
interface Pipeline {
  name: PipelineName;
  apps: AppProcess[];
  appNames: readonly string[];
  writer: PacedWriter;
  probe: VisibilityProbe;
}

export async function measureLatency(options: LatencyOptions, cleanup: Cleanup): Promise<LatencyResult> {
  const pipelines = [await startTributary(options, cleanup), await startMinimal(options, cleanup)];
  const phases: LatencyPhase[] = [];
  for (const [index, rate] of options.rates.entries()) {
    for (const pipeline of pipelines) phases.push(await runPhase(pipeline, rate, 1 + index * ID_STRIDE, options));
  }
  return { seconds: options.seconds, phases };
}

/** Tributary as deployed: the split relay and worker apps, one route items → PostgreSQL. */
async function startTributary(options: LatencyOptions, cleanup: Cleanup): Promise<Pipeline> {
  const deployment = await createBenchDeployment(options, cleanup);
  await routeItemsToPostgres(deployment, { table: TABLE, targetId: 'pg', routeId: 'items-pg' });
  const env = tributaryEnv(deployment, options.redisUrl, options.appEnv);
  const apps = (['relay', 'worker'] as const).map((name) => startApp(name, env, options.nodeArgs, cleanup));
  return ready('tributary', apps, ['relay', 'worker'], deployment.source, deployment.postgres, options, cleanup);
}

/** The minimal pipeline, on a source database of its own that only its triggers feed. */
async function startMinimal(options: LatencyOptions, cleanup: Cleanup): Promise<Pipeline> {
  const source = await createMysqlDatabase(options.mysqlUrl, 'trib_bench_minsrc', cleanup);
  await source.knex.raw(itemsDdl(TABLE));
  await migrateOutbox(source.knex);
  await installCapture(source.knex, TABLE);
  const target = await createMinimalTarget(options.postgresUrl, cleanup);
  const apps = startMinimalPipeline({ source, target, redisUrl: options.redisUrl, jobRows: options.minimalJobRows, nodeArgs: options.nodeArgs }, cleanup);
  return ready('minimal', apps, MINIMAL_APP_NAMES, source, target, options, cleanup);
}

/**
 * Warms the pipeline up and installs the probe once the warm-up rows are at
 * the target: that way the table exists whoever creates it (Tributary's
 * worker does, on the first change), and nothing measured pays for start-up.
 */
async function ready(
  name: PipelineName,
  apps: AppProcess[],
  appNames: readonly string[],
  source: BenchDatabase,
  target: BenchDatabase,
  options: LatencyOptions,
  cleanup: Cleanup,
): Promise<Pipeline> {
  note(`latency: warming up ${name}`);
  const lanes = Math.max(...options.rates.map((rate) => writerLanes(rate, options.connections)));
  const writer = await PacedWriter.open(source.url, lanes, cleanup);
  await writer.run(TABLE, { rate: WARM_UP_ROWS, seconds: 1, firstId: -WARM_UP_ROWS, lanes: 1 });
  try {
    await waitForRows(target, TABLE, WARM_UP_ROWS, options.timeoutMs);
  } catch (error) {
    for (const app of apps) if (app.output()) note(`--- ${app.name} output:\n${app.output()}`);
    throw error;
  }
  const probe = await VisibilityProbe.install(target, TABLE, cleanup);
  return { name, apps, appNames, writer, probe };
}

async function runPhase(pipeline: Pipeline, rate: number, firstId: number, options: LatencyOptions): Promise<LatencyPhase> {
  const lanes = writerLanes(rate, options.connections);
  note(`latency: ${pipeline.name} at ${rate} rows/s for ${options.seconds} s over ${lanes} connections`);
  const meter = new CpuMeter(cpuGroups(pipeline.apps, pipeline.appNames));
  meter.start();
  const started = performance.now();
  const run = await pipeline.writer.run(TABLE, { rate, seconds: options.seconds, firstId, lanes });
  const missing = await pipeline.probe.waitForAll(run.firstId, run.count, STALL_MS, performance.now() + options.timeoutMs);
  const wallSeconds = (performance.now() - started) / 1000;
  const { perGroup, otherCores } = meter.stop();
  const dead = pipeline.apps.find((app) => app.exited());
  if (dead) throw new Error(`${dead.name} exited during the latency run:\n${dead.output()}`);
  if (missing > 0) note(`latency: ${missing} of ${run.count} rows never arrived at ${pipeline.name}'s target`);
  return {
    pipeline: pipeline.name,
    rate,
    connections: lanes,
    achievedRate: run.achievedRate,
    rows: run.count,
    missing,
    visible: percentiles(visibleLatencies(run, pipeline.probe)),
    write: percentiles(run.writeMs) ?? { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN },
    cpuCores: Object.fromEntries([...perGroup].map(([group, seconds]) => [group, seconds / wallSeconds])),
    otherCores,
  };
}

/** Arrival minus commit of every row that arrived, ms. */
function visibleLatencies(run: PacedRun, probe: VisibilityProbe): Float64Array {
  const latencies = new Float64Array(run.count);
  let found = 0;
  for (let n = 0; n < run.count; n++) {
    const arrived = probe.arrivedAt(run.firstId + n);
    if (arrived !== undefined) latencies[found++] = arrived - run.committedAt[n];
  }
  return latencies.subarray(0, found);
}

/** Nearest-rank p50/p95/p99 and the maximum; null for no values. */
export function percentiles(values: Float64Array): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return { p50: rank(0.5), p95: rank(0.95), p99: rank(0.99), max: sorted[sorted.length - 1] };
}

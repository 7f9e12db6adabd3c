import { installCapture } from '@tributary/capture';
import { migrateOutbox } from '@tributary/db';
import { cpuGroups, createBenchDeployment, routeItemsToPostgres, tributaryEnv } from './deployment';
import { itemsDdl } from './items';
import { createMinimalTarget, MINIMAL_APP_NAMES, startMinimalPipeline } from './minimal/pipeline';
import { PacedWriter } from './paced-writer';
import { CpuMeter } from './proc';
import { assertAlive } from './route-wait';
import { AppProcess, BenchDatabase, Cleanup, createMysqlDatabase, note, noteOutputs, Percentiles, percentiles, startApp } from './support';
import { createTargetTables } from './target-tables';
import { installVisibilityTriggers, LatencyStats, VisibilityProbe } from './visibility-probe';

/**
 * Latency (issue #10, measurement a): steady single-row insert rates into a
 * captured table, each for a fixed time, measured from the moment the
 * source's autocommit INSERT returned to the moment the row's transaction
 * committed at PostgreSQL (visibility-probe.ts). Run for Tributary (relay and
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

/** One pipeline at one rate. */
export interface LatencyPhase {
  pipeline: PipelineName;
  rate: number;
  /** Writer connections that shared the rate. */
  connections: number;
  achievedRate: number;
  /** Commit at the source → visible at the target, of the rows written in the phase (`committed`; `seen` of them arrived). */
  visible: LatencyStats;
  /** The INSERT's own round trip at the source (trigger and commit included), ms. */
  write: Percentiles;
  /** CPU seconds per component over the phase, from the first write until the last row arrived (`wallSeconds`). */
  cpu: Record<string, number>;
  wallSeconds: number;
  /** Cores used by processes outside the pipeline, its servers and the bench: the noise. */
  otherCores: number;
}

export interface LatencyResult {
  seconds: number;
  phases: LatencyPhase[];
}

const TABLE = 'items';
/** Rows written before measuring: connections and JIT are warm, the pipeline has applied once. Ids -N..-1. */
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

/** A pipeline under test, ready to measure: writes go through `writer`, `probe` sees them arrive. */
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
  const schema = await routeItemsToPostgres(deployment, { table: TABLE, targetId: 'pg', routeId: 'items-pg' });
  // Created as the worker would, so the probe's trigger is on it before the first change.
  await createTargetTables(deployment.postgres, [{ name: TABLE, schema }]);
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

/** Instruments the target and warms the pipeline up, so nothing measured pays for start-up. */
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
  await installVisibilityTriggers(target, [TABLE]);
  const probe = await VisibilityProbe.listen(target, cleanup);
  const lanes = Math.max(...options.rates.map((rate) => writerLanes(rate, options.connections)));
  const writer = await PacedWriter.open(source.url, lanes, cleanup);
  await writer.run({ rate: WARM_UP_ROWS, seconds: 1, lanes: 1, write: probe.insertItems(TABLE, -WARM_UP_ROWS) });
  const unseen = await probe.waitForAll({ timeoutMs: options.timeoutMs, check: () => assertAlive(apps, `${name}'s warm-up`) });
  if (unseen > 0) {
    noteOutputs(apps);
    throw new Error(`${unseen} of ${WARM_UP_ROWS} warm-up rows did not reach ${name}'s target in ${options.timeoutMs} ms`);
  }
  return { name, apps, appNames, writer, probe };
}

async function runPhase(pipeline: Pipeline, rate: number, firstId: number, options: LatencyOptions): Promise<LatencyPhase> {
  const lanes = writerLanes(rate, options.connections);
  note(`latency: ${pipeline.name} at ${rate} rows/s for ${options.seconds} s over ${lanes} connections`);
  const meter = new CpuMeter(cpuGroups(pipeline.apps, pipeline.appNames));
  meter.start();
  const started = performance.now();
  const run = await pipeline.writer.run({ rate, seconds: options.seconds, lanes, write: pipeline.probe.insertItems(TABLE, firstId) });
  const written = performance.now();
  await pipeline.probe.waitForAll({
    timeoutMs: options.timeoutMs,
    stallMs: STALL_MS,
    check: () => assertAlive(pipeline.apps, `the latency run of ${pipeline.name}`),
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const { perGroup, otherCores } = meter.stop();
  // The phase's rows, by commit time: each pipeline has its own probe, and its phases follow one another.
  const visible = pipeline.probe.stats(started, written);
  const missing = visible.committed - visible.seen;
  if (missing > 0) note(`latency: ${missing} of ${visible.committed} rows never arrived at ${pipeline.name}'s target`);
  return {
    pipeline: pipeline.name,
    rate,
    connections: lanes,
    achievedRate: run.achievedRate,
    visible,
    write: percentiles(run.writeMs),
    cpu: Object.fromEntries(perGroup),
    wallSeconds,
    otherCores,
  };
}

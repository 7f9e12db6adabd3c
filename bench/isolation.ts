import { freePort } from '../libs/testing/src/redis-server';
import { TcpProxy } from '../libs/testing/src/tcp-proxy';
import { RouteStateReading, startAdmin } from './admin-status';
import { addPostgresTarget, captureItems, compareRows, countDeadLetters, cpuGroups, createBenchDeployment, routeToPostgres, RowComparison, tributaryEnv } from './deployment';
import { LagSample, sampleLag } from './lag-sampler';
import { PacedRun, PacedWriter } from './paced-writer';
import { every } from './periodic';
import { CpuMeter } from './proc';
import { assertAlive, outboxMaxSeq, waitForRelay, waitForRoutes } from './route-wait';
import { AppProcess, BenchDatabase, Cleanup, createPostgresDatabase, note, noteOutputs, sleep, startApp } from './support';
import { createTargetTables } from './target-tables';
import { installVisibilityTriggers, LatencyStats, VisibilityProbe } from './visibility-probe';

/**
 * Isolation (issue #10, "one sick target must not stall the others"): one
 * captured table, two routes of it to two PostgreSQL databases, one reached
 * through a TCP proxy. Under a steady paced write load the proxy is taken
 * down for a while and brought back. Measured for the healthy route: commit
 * → visible latency at its target and its lag, phase by phase; for the sick
 * route: how long it took to catch up once its target was back; for both:
 * what the admin's status API said meanwhile, and that both targets end
 * equal to the source.
 */
export interface IsolationOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  /** Rows inserted per second (autocommit, one row each), over `writers` connections. */
  rate: number;
  writers: number;
  warmupSeconds: number;
  downSeconds: number;
  /** Writes go on this long after the sick target is back. */
  afterSeconds: number;
  appEnv: Record<string, string>;
  nodeArgs: string[];
  timeoutMs: number;
}

export type IsolationPhaseName = 'warm-up' | 'sick target down' | 'after it came back' | 'no more writes, catching up';

export interface PhaseLag {
  changes: number;
  seconds: number;
}

export interface IsolationPhase {
  name: IsolationPhaseName;
  /** Seconds from the first write. */
  from: number;
  to: number;
  /** Of the changes committed in the phase. */
  healthyLatency: LatencyStats;
  /** Worst lag in the phase, from the 100 ms samples. */
  healthyMaxLag: PhaseLag;
  sickMaxLag: PhaseLag;
}

export interface StatusReading {
  /** Seconds from the first write. */
  at: number;
  phase: IsolationPhaseName;
  healthy: RouteStateReading | null;
  sick: RouteStateReading | null;
}

export interface RunCpu {
  perGroup: Record<string, number>;
  machineBusy: number;
  otherCores: number;
  seconds: number;
}

export interface IsolationResult {
  options: Pick<IsolationOptions, 'rate' | 'writers' | 'warmupSeconds' | 'downSeconds' | 'afterSeconds'>;
  writes: PacedRun;
  phases: IsolationPhase[];
  healthyOverall: LatencyStats;
  /** Longest time the healthy route's watermark stood still while changes waited for it. */
  healthyLongestStallSeconds: number;
  /** How far the healthy route's watermark moved while the sick target was down, against the outbox's. */
  whileDown: { healthyAdvanced: number; outboxAdvanced: number };
  /** From the proxy coming back until the sick route had applied everything committed while it was down. */
  sickCaughtUpSeconds: number;
  /** From the last write until each route had applied everything. */
  drainedAfterWrites: { healthy: number; sick: number };
  statuses: StatusReading[];
  /** Healthy-route changes never seen at its target. */
  unseen: number;
  /** CPU seconds per component over the timed run, and the machine's load: a busy machine slows every route. */
  cpu: RunCpu;
  deadLetters: number;
  verify: { healthy: RowComparison; sick: RowComparison };
}

const TABLE = 'items';
const HEALTHY = 'items-healthy';
const SICK = 'items-sick';
const LAG_SAMPLE_MS = 100;
const STATUS_SAMPLE_MS = 5000;

export async function measureIsolation(options: IsolationOptions, cleanup: Cleanup): Promise<IsolationResult> {
  const deployment = await createBenchDeployment(options, cleanup);
  const { source, postgres: healthy, sourceId, progress } = deployment;
  const sick = await createPostgresDatabase(options.postgresUrl, 'trib_bench_sick', cleanup);
  const link = await proxyTo(sick.url, cleanup);

  const schema = await captureItems(deployment, TABLE);
  await addPostgresTarget(deployment, 'healthy');
  await addPostgresTarget(deployment, 'sick', link.url);
  await routeToPostgres(deployment, { routeId: HEALTHY, table: TABLE, targetId: 'healthy' });
  await routeToPostgres(deployment, { routeId: SICK, table: TABLE, targetId: 'sick' });
  await createTargetTables(healthy, [{ name: TABLE, schema }]);
  await installVisibilityTriggers(healthy, [TABLE]);
  const probe = await VisibilityProbe.listen(healthy, cleanup);
  const writer = await PacedWriter.open(source.url, options.writers, cleanup);

  const env = tributaryEnv(deployment, options.redisUrl, options.appEnv);
  const apps: AppProcess[] = [startApp('relay', env, options.nodeArgs, cleanup), startApp('worker', env, options.nodeArgs, cleanup)];
  try {
    const admin = await startAdmin(env, options.nodeArgs, cleanup);
    apps.push(admin.app);
    await waitForRelay(progress, sourceId, apps);
    // One row through both routes first: the timed run starts with a pipeline that is up, not starting.
    await writer.run({ rate: 1, seconds: 1, lanes: 1, write: probe.insertItems(TABLE, 0) });
    await waitForRoutes(progress, [HEALTHY, SICK], await outboxMaxSeq(source), apps, 120_000, 'isolation start-up');
    note(`isolation: writing ${options.rate} rows/s; the sick target goes down after ${options.warmupSeconds} s for ${options.downSeconds} s`);

    const meter = new CpuMeter(cpuGroups(apps));
    meter.start();
    const t0 = performance.now();
    const lagSamples: LagSample[] = [];
    const rawStatuses: Array<{ at: number; states: RouteStateReading[] }> = [];
    // Stopped by `cleanup` too, before the databases they read are dropped, also when the run fails.
    const samplers = [
      sampleLag(source, progress, [HEALTHY, SICK], LAG_SAMPLE_MS, lagSamples, cleanup),
      every(
        STATUS_SAMPLE_MS,
        async () => {
          rawStatuses.push({ at: performance.now(), states: await admin.readStates() });
        },
        cleanup,
      ),
    ];
    const schedule = outage(link.proxy, source, t0, options);
    // Awaited below; if the writes fail first, its own failure must not end the process unhandled.
    schedule.catch(() => undefined);
    const writes = await writer.run({
      rate: options.rate,
      seconds: options.warmupSeconds + options.downSeconds + options.afterSeconds,
      write: probe.insertItems(TABLE, 1),
    });
    const writesEnd = performance.now();
    const { downAt, upAt, maxSeqAtUp } = await schedule;
    note(`isolation: ${writes.count} rows written; waiting for both routes to catch up`);
    const reached = await waitForRoutes(progress, [HEALTHY, SICK], await outboxMaxSeq(source), apps, options.timeoutMs, 'isolation catch-up');
    const unseen = await probe.waitForAll({ timeoutMs: 10_000, check: () => assertAlive(apps, 'isolation catch-up') });
    const doneAt = performance.now();
    await Promise.all(samplers.map((stop) => stop()));
    const { perGroup, machineBusy, otherCores } = meter.stop();
    await Promise.all(apps.map((app) => app.stop()));

    const bounds: Array<[IsolationPhaseName, number, number]> = [
      ['warm-up', t0, downAt],
      ['sick target down', downAt, upAt],
      ['after it came back', upAt, writesEnd],
      ['no more writes, catching up', writesEnd, doneAt],
    ];
    const phaseOf = (at: number) => bounds.find(([, from, to]) => at >= from && at < to)?.[0] ?? (at < t0 ? 'warm-up' : 'no more writes, catching up');
    return {
      options: { rate: options.rate, writers: options.writers, warmupSeconds: options.warmupSeconds, downSeconds: options.downSeconds, afterSeconds: options.afterSeconds },
      writes,
      phases: bounds.map(([name, from, to]) => ({
        name,
        from: (from - t0) / 1000,
        to: (to - t0) / 1000,
        healthyLatency: probe.stats(from, to),
        healthyMaxLag: maxLag(lagSamples, HEALTHY, from, to),
        sickMaxLag: maxLag(lagSamples, SICK, from, to),
      })),
      healthyOverall: probe.stats(t0),
      healthyLongestStallSeconds: longestStall(lagSamples, HEALTHY),
      whileDown: advanced(lagSamples, HEALTHY, downAt, upAt),
      // The samples can miss the moment when the route caught up only at the very end; the final wait saw it then.
      sickCaughtUpSeconds: caughtUp(lagSamples, SICK, upAt, maxSeqAtUp) ?? ((reached.get(SICK) ?? doneAt) - upAt) / 1000,
      drainedAfterWrites: { healthy: ((reached.get(HEALTHY) ?? doneAt) - writesEnd) / 1000, sick: ((reached.get(SICK) ?? doneAt) - writesEnd) / 1000 },
      statuses: rawStatuses.map(({ at, states }) => ({
        at: (at - t0) / 1000,
        phase: phaseOf(at),
        healthy: states.find((state) => state.route === HEALTHY) ?? null,
        sick: states.find((state) => state.route === SICK) ?? null,
      })),
      unseen,
      cpu: { perGroup: Object.fromEntries(perGroup), machineBusy, otherCores, seconds: (doneAt - t0) / 1000 },
      deadLetters: await countDeadLetters(deployment, [HEALTHY, SICK]),
      verify: { healthy: await compareRows(source, healthy, TABLE), sick: await compareRows(source, sick, TABLE) },
    };
  } catch (error) {
    noteOutputs(apps);
    throw error;
  }
}

/** A TCP proxy on a free port in front of the PostgreSQL server of `url`; returns it and the URL through it. */
async function proxyTo(url: string, cleanup: Cleanup): Promise<{ proxy: TcpProxy; url: string }> {
  const direct = new URL(url);
  const proxy = new TcpProxy(await freePort(), { host: direct.hostname, port: Number(direct.port || 5432) });
  await proxy.up();
  cleanup.add('proxy to the sick target', () => proxy.down());
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return { proxy, url: proxied.toString() };
}

/**
 * Takes the proxy down at t0 + warm-up and back up after the outage; notes
 * the outbox's max seq just before it comes back (what the sick route must
 * catch up to).
 */
async function outage(
  proxy: TcpProxy,
  source: BenchDatabase,
  t0: number,
  options: Pick<IsolationOptions, 'warmupSeconds' | 'downSeconds'>,
): Promise<{ downAt: number; upAt: number; maxSeqAtUp: number }> {
  await sleep(t0 + options.warmupSeconds * 1000 - performance.now());
  const downAt = performance.now();
  await proxy.down();
  note('isolation: sick target down');
  await sleep(downAt + options.downSeconds * 1000 - performance.now());
  const maxSeqAtUp = await outboxMaxSeq(source);
  await proxy.up();
  note('isolation: sick target back');
  return { downAt, upAt: performance.now(), maxSeqAtUp };
}

function maxLag(samples: readonly LagSample[], routeId: string, from: number, to: number): PhaseLag {
  let changes = 0;
  let seconds = 0;
  for (const sample of samples) {
    if (sample.at < from || sample.at >= to) continue;
    const lag = sample.routes.get(routeId);
    if (!lag) continue;
    changes = Math.max(changes, lag.changes);
    seconds = Math.max(seconds, lag.oldestSeconds);
  }
  return { changes, seconds };
}

/** The longest stretch between two advances of the route's watermark during which it had something to apply. */
function longestStall(samples: readonly LagSample[], routeId: string): number {
  let longest = 0;
  let since: number | null = null;
  let watermark = -1;
  for (const sample of samples) {
    const lag = sample.routes.get(routeId);
    if (!lag) continue;
    if (lag.watermark > watermark || lag.changes === 0) since = sample.at;
    watermark = lag.watermark;
    if (since !== null) longest = Math.max(longest, sample.at - since);
  }
  return longest / 1000;
}

function advanced(samples: readonly LagSample[], routeId: string, from: number, to: number): IsolationResult['whileDown'] {
  const within = samples.filter((sample) => sample.at >= from && sample.at < to);
  if (within.length < 2) return { healthyAdvanced: 0, outboxAdvanced: 0 };
  const [first, last] = [within[0], within[within.length - 1]];
  const watermark = (sample: LagSample) => sample.routes.get(routeId)?.watermark ?? 0;
  return { healthyAdvanced: watermark(last) - watermark(first), outboxAdvanced: last.maxSeq - first.maxSeq };
}

function caughtUp(samples: readonly LagSample[], routeId: string, upAt: number, seq: number): number | null {
  const sample = samples.find((s) => s.at >= upAt && (s.routes.get(routeId)?.watermark ?? 0) >= seq);
  return sample ? (sample.at - upAt) / 1000 : null;
}

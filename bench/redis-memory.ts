import { addPostgresTarget, captureItems, compareRows, countDeadLetters, cpuGroups, createBenchDeployment, routeToPostgres, RowComparison, tributaryEnv } from './deployment';
import { DrainResult, insertsForChanges, writeBacklog } from './drain';
import { every } from './periodic';
import { CpuMeter, memoryMiB } from './proc';
import { RedisReadings } from './redis-info';
import { outboxMaxSeq, waitForRelay, waitForRoutes } from './route-wait';
import { AppProcess, Cleanup, note, noteOutputs, sleep, startApp } from './support';

/**
 * Redis memory under a backlog (issue #10, invariant 7 "memory is bounded
 * whatever the backlog"): a large backlog in one table with several routes
 * of it, then the relay alone for a while (it fills the queues as far as
 * its flow control lets it, nothing drains them), then the worker too until
 * every route has applied everything. Redis used_memory is sampled every
 * 250 ms and the run's own keys every second; the apps' peak RSS is read
 * from /proc.
 */
export interface RedisMemoryOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  /** Outbox changes in the backlog (inserts, updates and deletes, as the drain writes them). */
  changes: number;
  /** Routes of the table, each to its own table in one PostgreSQL database. */
  routes: number;
  /** How long the relay runs before the worker starts. */
  relaySeconds: number;
  appEnv: Record<string, string>;
  nodeArgs: string[];
  timeoutMs: number;
}

export interface MemoryPhase {
  seconds: number;
  /** Highest used_memory sampled in the phase, and the last, minus the reading before the relay started (bytes). */
  redisPeakBytes: number;
  redisEndBytes: number;
  /** Highest total of this run's own keys (MEMORY USAGE, sampled every second). */
  keysPeakBytes: number;
  /** Peak RSS (VmHWM) of each app at the end of the phase, MiB. */
  peakRssMiB: Record<string, number | null>;
}

export interface RedisMemoryResult {
  backlog: DrainResult['backlog'];
  routes: number;
  /** used_memory before the relay started (the whole server's, other sessions included). */
  baselineBytes: number;
  relayAlone: MemoryPhase & {
    /**
     * How far the relay had read the outbox (its watermark) when the worker started. What it read is owed
     * to the routes as seq ranges in its memory; Redis holds at most one range job per route.
     */
    readSeq: number;
  };
  /** From starting the worker until every route applied everything; CPU seconds per component meanwhile. */
  drain: MemoryPhase & { cpu: Record<string, number>; machineBusy: number; otherCores: number };
  deadLetters: number;
  verify: Array<RowComparison & { targetTable: string }>;
}

const TABLE = 'items';
const USED_MEMORY_SAMPLE_MS = 250;
const KEYS_SAMPLE_MS = 1000;

export async function measureRedisMemory(options: RedisMemoryOptions, cleanup: Cleanup): Promise<RedisMemoryResult> {
  const deployment = await createBenchDeployment(options, cleanup);
  const { source, postgres, prefix, sourceId, progress } = deployment;
  const routeIds = Array.from({ length: options.routes }, (_, i) => `items-r${i + 1}`);
  const targetTable = (routeId: string) => routeId.replace('-', '_');

  // Routes before the backlog, as in the drain: a route created later starts at the relay's watermark.
  await captureItems(deployment, TABLE);
  await addPostgresTarget(deployment, 'pg');
  for (const routeId of routeIds) await routeToPostgres(deployment, { routeId, table: TABLE, targetId: 'pg', targetTable: targetTable(routeId) });
  const backlog = await writeBacklog(source, insertsForChanges(options.changes));
  note(`redis-memory: ${backlog.changes} changes written in ${backlog.writeSeconds.toFixed(1)} s; starting the relay alone`);

  const redis = await RedisReadings.open(options.redisUrl, cleanup);
  const memory = new MemoryWatch(redis, prefix, await redis.usedMemory());
  const stopSampling = memory.start(cleanup);
  const env = tributaryEnv(deployment, options.redisUrl, options.appEnv);
  const apps: AppProcess[] = [];
  try {
    const relayStarted = performance.now();
    apps.push(startApp('relay', env, options.nodeArgs, cleanup));
    await waitForRelay(progress, sourceId, apps);
    await sleep(relayStarted + options.relaySeconds * 1000 - performance.now());
    const relayAlone = {
      ...memory.endPhase(relayStarted, apps),
      readSeq: (await progress.loadRelayState(sourceId))?.watermark ?? 0,
    };

    note(`redis-memory: relay read through seq ${relayAlone.readSeq}; starting the worker`);
    const meter = new CpuMeter(cpuGroups(apps));
    const workerStarted = performance.now();
    apps.push(startApp('worker', env, options.nodeArgs, cleanup));
    meter.start();
    await waitForRoutes(progress, routeIds, await outboxMaxSeq(source), apps, options.timeoutMs, 'redis-memory drain');
    const drain = memory.endPhase(workerStarted, apps);
    const { perGroup, machineBusy, otherCores } = meter.stop();
    await stopSampling();
    await Promise.all(apps.map((app) => app.stop()));

    const verify: RedisMemoryResult['verify'] = [];
    for (const id of routeIds) verify.push({ targetTable: targetTable(id), ...(await compareRows(source, postgres, TABLE, targetTable(id))) });
    return {
      backlog,
      routes: options.routes,
      baselineBytes: memory.baseline,
      relayAlone,
      drain: { ...drain, cpu: Object.fromEntries(perGroup), machineBusy, otherCores },
      deadLetters: await countDeadLetters(deployment, routeIds),
      verify,
    };
  } catch (error) {
    noteOutputs(apps);
    throw error;
  }
}

/**
 * Redis memory over the phases of the run: used_memory every 250 ms (the
 * server's, noisy on a shared server) and this run's own keys every second
 * (exact but slower to read), each as a peak per phase.
 */
class MemoryWatch {
  private peak: number;
  private last: number;
  private keysPeak = 0;

  constructor(
    private readonly redis: RedisReadings,
    private readonly prefix: string,
    readonly baseline: number,
  ) {
    this.peak = baseline;
    this.last = baseline;
  }

  /** Starts sampling; the returned function stops it (`cleanup` at the latest). */
  start(cleanup: Cleanup): () => Promise<void> {
    const stopUsed = every(
      USED_MEMORY_SAMPLE_MS,
      async () => {
        this.last = await this.redis.usedMemory();
        this.peak = Math.max(this.peak, this.last);
      },
      cleanup,
    );
    const stopKeys = every(
      KEYS_SAMPLE_MS,
      async () => {
        this.keysPeak = Math.max(this.keysPeak, (await this.redis.keysUnder(this.prefix)).bytes);
      },
      cleanup,
    );
    return async () => {
      await Promise.all([stopUsed(), stopKeys()]);
    };
  }

  /** Closes a phase (its length, Redis growth over the baseline, each live app's peak RSS so far) and starts the next one. */
  endPhase(started: number, apps: readonly AppProcess[]): MemoryPhase {
    const phase: MemoryPhase = {
      seconds: (performance.now() - started) / 1000,
      redisPeakBytes: this.peak - this.baseline,
      redisEndBytes: this.last - this.baseline,
      keysPeakBytes: this.keysPeak,
      peakRssMiB: Object.fromEntries(apps.map((app) => [app.name, memoryMiB(app.pid, 'VmHWM')])),
    };
    this.peak = this.last;
    this.keysPeak = 0;
    return phase;
  }
}

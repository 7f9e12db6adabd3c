import { TableSchema } from '@tributary/model';
import { addPostgresTarget, BenchDeployment, countDeadLetters, cpuGroups, createBenchDeployment, routeToPostgres, tributaryEnv } from './deployment';
import { itemsDdl, prng } from './items';
import { PacedRun, PacedWriter } from './paced-writer';
import { CpuMeter, memoryMiB } from './proc';
import { RedisReadings } from './redis-info';
import { assertAlive, waitForRelay } from './route-wait';
import { tcpConnectionsTo } from './sockets';
import { AppProcess, Cleanup, note, noteOutputs, sleep, startApp } from './support';
import { createTargetTables } from './target-tables';
import { installVisibilityTriggers, LatencyStats, VisibilityProbe } from './visibility-probe';

/**
 * Many routes (issue #10, "what an idle route costs must be close to
 * nothing"): N captured tables, one route each to its own PostgreSQL table.
 * Once every route has applied a first row, the apps are watched with no
 * writes at all (CPU, Redis connections, RSS), then a light trickle of
 * single-row writes spread at random over all the tables measures commit →
 * visible latency at the target.
 */
export interface ManyRoutesOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  routes: number;
  idleSeconds: number;
  /** Trickle: writes per second over all tables, for `trickleSeconds`. */
  rate: number;
  trickleSeconds: number;
  appEnv: Record<string, string>;
  nodeArgs: string[];
  timeoutMs: number;
}

export interface ManyRoutesResult {
  routes: number;
  /** Creating the source tables, capturing them, adding the routes, creating and instrumenting the target tables. */
  setupSeconds: { tables: number; capture: number; routes: number; targets: number };
  /** From starting the apps until every route had applied its first row. */
  readySeconds: number;
  idle: {
    seconds: number;
    /** CPU seconds per component over the idle window (servers are whole servers: other sessions count too). */
    cpu: Record<string, number>;
    machineBusy: number;
    otherCores: number;
    /** Redis connected_clients before the apps started and at the end of the idle window (whole server). */
    redisClients: { before: number; idle: number };
    /** Established connections each app holds to Redis, counted from the app's side. */
    redisConnections: Record<string, number | null>;
    rssMiB: Record<string, number | null>;
  };
  trickle: { writes: PacedRun; latency: LatencyStats; unseen: number };
  peakRssMiB: Record<string, number | null>;
  deadLetters: number;
}

/** Source-side DDL and capture in parallel: the server does the work, a few at a time keep it busy. */
const SETUP_CONCURRENCY = 4;
/** After every route applied its first row: let start-up work (JIT, first refreshes) end before the idle window. */
const SETTLE_MS = 5000;

export async function measureManyRoutes(options: ManyRoutesOptions, cleanup: Cleanup): Promise<ManyRoutesResult> {
  const deployment = await createBenchDeployment(options, cleanup);
  const { source, postgres, sourceId, progress } = deployment;
  const width = String(options.routes).length;
  const tables = Array.from({ length: options.routes }, (_, i) => `t${String(i + 1).padStart(width, '0')}`);

  const setupSeconds = await setUpRoutes(deployment, tables);
  const probe = await VisibilityProbe.listen(postgres, cleanup);
  const writer = await PacedWriter.open(source.url, 2, cleanup);

  const redis = await RedisReadings.open(options.redisUrl, cleanup);
  const clientsBefore = await redis.connectedClients();
  const env = tributaryEnv(deployment, options.redisUrl, options.appEnv);
  const apps: AppProcess[] = [];
  try {
    const started = performance.now();
    apps.push(startApp('relay', env, options.nodeArgs, cleanup), startApp('worker', env, options.nodeArgs, cleanup));
    await waitForRelay(progress, sourceId, apps);
    // One row in every table, as fast as the writers go: every route has then been fed and applied once
    // (its consumer runs, its table is ensured).
    await writer.run({ rate: tables.length, seconds: 1, write: (connection, n) => probe.insertItem(connection, tables[n], 0) });
    const unready = await probe.waitForAll({ timeoutMs: options.timeoutMs, check: () => assertAlive(apps, 'the first row of every route') });
    if (unready > 0) throw new Error(`${unready} of ${tables.length} routes applied nothing within ${options.timeoutMs} ms`);
    const readySeconds = (performance.now() - started) / 1000;
    note(`routes: every route applied its first row ${readySeconds.toFixed(1)} s after start; idle for ${options.idleSeconds} s`);

    await sleep(SETTLE_MS);
    const meter = new CpuMeter(cpuGroups(apps));
    meter.start();
    const idleStarted = performance.now();
    await sleep(options.idleSeconds * 1000);
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    assertAlive(apps, 'the idle window');
    const { perGroup, machineBusy, otherCores } = meter.stop();
    perGroup.delete('bench');
    const redisPort = Number(new URL(options.redisUrl).port || 6379);
    const idle: ManyRoutesResult['idle'] = {
      seconds: idleSeconds,
      cpu: Object.fromEntries(perGroup),
      machineBusy,
      otherCores,
      redisClients: { before: clientsBefore, idle: await redis.connectedClients() },
      redisConnections: Object.fromEntries(apps.map((app) => [app.name, tcpConnectionsTo(app.pid, redisPort)])),
      rssMiB: Object.fromEntries(apps.map((app) => [app.name, memoryMiB(app.pid, 'VmRSS')])),
    };

    note(`routes: trickle of ${options.rate} writes/s over ${tables.length} tables for ${options.trickleSeconds} s`);
    const random = prng(10);
    const trickleStarted = performance.now();
    const writes = await writer.run({
      rate: options.rate,
      seconds: options.trickleSeconds,
      write: (connection, n) => probe.insertItem(connection, tables[Math.floor(random() * tables.length)], n + 1),
    });
    const unseen = await probe.waitForAll({ timeoutMs: 60_000, check: () => assertAlive(apps, 'the trickle') });
    const peakRssMiB = Object.fromEntries(apps.map((app) => [app.name, memoryMiB(app.pid, 'VmHWM')]));
    await Promise.all(apps.map((app) => app.stop()));

    return {
      routes: tables.length,
      setupSeconds,
      readySeconds,
      idle,
      trickle: { writes, latency: probe.stats(trickleStarted), unseen },
      peakRssMiB,
      deadLetters: await countDeadLetters(deployment),
    };
  } catch (error) {
    noteOutputs(apps);
    throw error;
  }
}

/**
 * The source tables, their capture, one route each, and the target tables
 * with the probe trigger; returns how long each step took (capture is the
 * slow one: each takes the outbox's table lock to install its triggers).
 */
async function setUpRoutes(deployment: BenchDeployment, tables: readonly string[]): Promise<ManyRoutesResult['setupSeconds']> {
  const { source, sourceId, setup } = deployment;
  let stepStarted = performance.now();
  const step = () => {
    const seconds = (performance.now() - stepStarted) / 1000;
    stepStarted = performance.now();
    return seconds;
  };
  await inParallel(tables, SETUP_CONCURRENCY, (table) => source.knex.raw(itemsDdl(table)));
  const tablesSeconds = step();
  await setup.addSource(sourceId, source.url);
  const captured: Array<{ name: string; schema: TableSchema }> = [];
  await inParallel(tables, SETUP_CONCURRENCY, async (name) => {
    captured.push({ name, schema: (await setup.captureTable(sourceId, name)).schema });
  });
  const captureSeconds = step();
  note(`routes: ${tables.length} tables created in ${tablesSeconds.toFixed(1)} s and captured in ${captureSeconds.toFixed(1)} s`);
  await addPostgresTarget(deployment, 'pg');
  await inParallel(tables, SETUP_CONCURRENCY, (table) => routeToPostgres(deployment, { routeId: `r-${table}`, table, targetId: 'pg' }));
  const routesSeconds = step();
  await createTargetTables(deployment.postgres, captured);
  await installVisibilityTriggers(deployment.postgres, tables);
  return { tables: tablesSeconds, capture: captureSeconds, routes: routesSeconds, targets: step() };
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

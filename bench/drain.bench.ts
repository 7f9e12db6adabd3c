import 'reflect-metadata';
import { loadConfig } from '@tributary/config';
import { BrokerDrain, BrokersOptions, brokersReport, brokersVerified, measureBrokers } from './brokers';
import { measureCaptureOverhead, OverheadOptions, OverheadResult, RoundResult } from './capture-overhead';
import { DrainOptions, DrainResult, measureDrain } from './drain';
import { isolationReport, isolationVerified, manyRoutesReport, manyRoutesVerified, redisMemoryReport, redisMemoryVerified } from './flow-report';
import { IsolationOptions, IsolationResult, measureIsolation } from './isolation';
import { LatencyOptions, LatencyResult, measureLatency } from './latency';
import { latencyReport, latencyVerified } from './latency-report';
import { rowsEqual } from './deployment';
import { cpuUse, formatInt, machineLoad, rssList, table } from './format';
import { describeMachine, MachineInfo } from './machine';
import { minimalDrainReport, minimalRatio, minimalVerified } from './minimal/report';
import { ManyRoutesOptions, ManyRoutesResult, measureManyRoutes } from './many-routes';
import { measurePartitions, PartitionsOptions, partitionsReport, PartitionsResult, partitionsVerified, SHARED_KEY_VARIANTS } from './partitions';
import { measureRedisMemory, RedisMemoryOptions, RedisMemoryResult } from './redis-memory';
import { measureSnapshot, SnapshotOptions, SnapshotResult } from './snapshot';
import { Cleanup, note, steadyRate } from './support';
import { measureTransactions, TransactionsOptions, transactionsReport, TransactionsResult, transactionsVerified } from './transactions';

/**
 * `npm run bench`: what capture costs the source (alternating pairs, triggers
 * off and on), how fast a backlog of changes drains into PostgreSQL (beside a
 * minimal outbox → BullMQ → PostgreSQL pipeline on the same backlog, issue
 * #10's baseline), how much cutting a busy table's route into two partitions
 * speeds such a drain on two worker processes (partitions), how fast a new
 * route's initial copy (snapshot) brings a full table there, how long a
 * change takes from commit to visible at PostgreSQL at steady write rates
 * (Tributary and the minimal pipeline), and whether one route whose target
 * is down holds back another (isolation).
 * Two slow measurements run only when asked for: Redis memory and app RSS
 * under a large backlog over several routes (redis-memory), and what many
 * idle routes cost and how they change latency (routes).
 * Only the summary goes to stdout; progress goes to stderr. Every database
 * and Redis key it creates is removed, also when it fails or is interrupted.
 *
 * Knobs (environment): BENCH_ONLY, a comma-separated list of overhead, drain,
 * partitions, shared-keys, transactions, snapshot, latency, isolation, redis-memory, routes, brokers (default:
 * all but shared-keys, transactions, redis-memory, routes and brokers, which run if BENCH_SHARED_KEYS=1, BENCH_TRANSACTIONS=1,
 * BENCH_REDIS_MEMORY=1, BENCH_MANY_ROUTES=1, BENCH_BROKERS=1);
 * BENCH_PAIRS, BENCH_STATEMENTS, BENCH_CONNECTIONS (overhead); BENCH_INSERTS,
 * BENCH_APPS (split | allinone), BENCH_PG_ANALYZE_S (drain);
 * BENCH_MINIMAL (on | off: the minimal pipeline's drain before Tributary's; default on),
 * BENCH_MINIMAL_JOB_ROWS (its most changes per job, default 1000 like JOB_MAX_ROWS);
 * BENCH_PARTITIONS_INSERTS (per run, 60,000 → 105k changes), BENCH_PARTITIONS_PAIRS (pairs of runs, 2;
 * partitions and shared-keys alike);
 * BENCH_TRANSACTIONS_TRANSFERS (backlog, 30,000), BENCH_TRANSACTIONS_PAIRS (2), BENCH_TRANSACTIONS_RATE (transfers/s, 300),
 * BENCH_TRANSACTIONS_SECONDS (15);
 * BENCH_SNAPSHOT_ROWS;
 * BENCH_LATENCY_RATES (rows/s, comma-separated, default 100,1000,5000), BENCH_LATENCY_SECONDS
 * (per rate and pipeline, default 20), BENCH_LATENCY_CONNECTIONS (writers sharing a rate;
 * default 4, or one per 125 rows/s above that);
 * BENCH_ISOLATION_RATE (rows/s, 200), BENCH_ISOLATION_WRITERS (4), BENCH_ISOLATION_WARMUP_S (5),
 * BENCH_ISOLATION_DOWN_S (30), BENCH_ISOLATION_AFTER_S (15);
 * BENCH_MEMORY_CHANGES (1,000,000), BENCH_MEMORY_ROUTES (5), BENCH_MEMORY_RELAY_S (20);
 * BENCH_ROUTES (1000), BENCH_ROUTES_IDLE_S (15), BENCH_ROUTES_RATE (writes/s, 50), BENCH_ROUTES_TRICKLE_S (20);
 * brokers (BENCH_BROKERS=1 or BENCH_ONLY=brokers): BENCH_INSERTS, BENCH_NATS_URL, BENCH_RABBITMQ_URL;
 * BENCH_NODE_ARGS, BENCH_TIMEOUT_S, BENCH_MYSQL_URL, BENCH_POSTGRES_URL, BENCH_REDIS_URL;
 * and any Tributary setting (RELAY_*, JOB_*, WORKER_*, OUTBOX_*, SNAPSHOT_*,
 * CONFIG_REFRESH_MS), passed on to the apps.
 */

/** Goals from the issue ("less than 15%", "tens of thousands of changes per second", read as at least 20k): reported, not enforced. */
const GOAL_MAX_OVERHEAD = 0.15;
const GOAL_MIN_DRAIN_RATE = 20_000;

interface BenchSettings {
  urls: { mysql: string; postgres: string; redis: string };
  /** The measurements to run, in MEASUREMENTS order. */
  measurements: ReadonlySet<Measurement>;
  overhead: Omit<OverheadOptions, 'mysqlUrl'>;
  drain: Omit<DrainOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
  partitions: Omit<PartitionsOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
  transactions: Omit<TransactionsOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
  snapshot: Omit<SnapshotOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
  latency: Omit<LatencyOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
  isolation: Omit<IsolationOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
  redisMemory: Omit<RedisMemoryOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
  manyRoutes: Omit<ManyRoutesOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
  brokers: Omit<BrokersOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
}

const MEASUREMENTS = ['overhead', 'drain', 'partitions', 'shared-keys', 'transactions', 'snapshot', 'latency', 'isolation', 'redis-memory', 'routes', 'brokers'] as const;
type Measurement = (typeof MEASUREMENTS)[number];
/** Slow or heavy: run only when named in BENCH_ONLY or switched on by their own variable. */
const OPT_IN: Partial<Record<Measurement, string>> = {
  'redis-memory': 'BENCH_REDIS_MEMORY',
  routes: 'BENCH_MANY_ROUTES',
  'shared-keys': 'BENCH_SHARED_KEYS',
  transactions: 'BENCH_TRANSACTIONS',
  brokers: 'BENCH_BROKERS',
};

/** Tributary settings the bench passes through to the apps. */
const APP_SETTING = /^(RELAY_|JOB_|WORKER_|OUTBOX_|SNAPSHOT_|CONFIG_REFRESH_MS$)/;

function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  const int = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
    return value;
  };
  const apps = env.BENCH_APPS ?? 'split';
  if (apps !== 'split' && apps !== 'allinone') throw new Error('BENCH_APPS must be split or allinone');
  const measurements = chosenMeasurements(env);
  const appEnv = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => APP_SETTING.test(entry[0]) && entry[1] !== undefined),
  );
  const nodeArgs = (env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const timeoutMs = int('BENCH_TIMEOUT_S', 600) * 1000;
  const minimal = env.BENCH_MINIMAL ?? 'on';
  if (minimal !== 'on' && minimal !== 'off') throw new Error('BENCH_MINIMAL must be on or off');
  const minimalJobRows = int('BENCH_MINIMAL_JOB_ROWS', 1000);
  const rates = (env.BENCH_LATENCY_RATES ?? '100,1000,5000').split(',').map((rate) => Number(rate.trim()));
  if (rates.some((rate) => !Number.isInteger(rate) || rate < 1)) throw new Error('BENCH_LATENCY_RATES must be positive integers, comma-separated');
  return {
    urls: {
      mysql: env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
      postgres: env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432',
      redis: env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    },
    measurements,
    overhead: { pairs: int('BENCH_PAIRS', 7), statements: int('BENCH_STATEMENTS', 20_000), connections: int('BENCH_CONNECTIONS', 4) },
    drain: {
      inserts: int('BENCH_INSERTS', 120_000),
      apps,
      appEnv,
      nodeArgs,
      pgAnalyzeSeconds: env.BENCH_PG_ANALYZE_S ? int('BENCH_PG_ANALYZE_S', 1) : null,
      timeoutMs,
      minimal: minimal === 'on',
      minimalJobRows,
    },
    partitions: { inserts: int('BENCH_PARTITIONS_INSERTS', 60_000), pairs: int('BENCH_PARTITIONS_PAIRS', 2), appEnv, nodeArgs, timeoutMs },
    transactions: {
      transfers: int('BENCH_TRANSACTIONS_TRANSFERS', 30_000),
      pairs: int('BENCH_TRANSACTIONS_PAIRS', 2),
      rate: int('BENCH_TRANSACTIONS_RATE', 300),
      seconds: int('BENCH_TRANSACTIONS_SECONDS', 15),
      appEnv,
      nodeArgs,
      timeoutMs,
    },
    snapshot: { rows: int('BENCH_SNAPSHOT_ROWS', 200_000), appEnv, nodeArgs, timeoutMs },
    latency: {
      rates,
      seconds: int('BENCH_LATENCY_SECONDS', 20),
      connections: env.BENCH_LATENCY_CONNECTIONS ? int('BENCH_LATENCY_CONNECTIONS', 4) : null,
      appEnv,
      nodeArgs,
      minimalJobRows,
      timeoutMs,
    },
    isolation: {
      rate: int('BENCH_ISOLATION_RATE', 200),
      writers: int('BENCH_ISOLATION_WRITERS', 4),
      warmupSeconds: int('BENCH_ISOLATION_WARMUP_S', 5),
      downSeconds: int('BENCH_ISOLATION_DOWN_S', 30),
      afterSeconds: int('BENCH_ISOLATION_AFTER_S', 15),
      appEnv,
      nodeArgs,
      timeoutMs,
    },
    redisMemory: {
      changes: int('BENCH_MEMORY_CHANGES', 1_000_000),
      routes: int('BENCH_MEMORY_ROUTES', 5),
      relaySeconds: int('BENCH_MEMORY_RELAY_S', 20),
      appEnv,
      nodeArgs,
      timeoutMs,
    },
    brokers: {
      natsUrl: env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
      rabbitUrl: env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
      inserts: int('BENCH_INSERTS', 120_000),
      appEnv,
      nodeArgs,
      timeoutMs,
    },
    manyRoutes: {
      routes: int('BENCH_ROUTES', 1000),
      idleSeconds: int('BENCH_ROUTES_IDLE_S', 15),
      rate: int('BENCH_ROUTES_RATE', 50),
      trickleSeconds: int('BENCH_ROUTES_TRICKLE_S', 20),
      appEnv,
      nodeArgs,
      timeoutMs,
    },
  };
}

function chosenMeasurements(env: NodeJS.ProcessEnv): Set<Measurement> {
  const isMeasurement = (name: string): name is Measurement => (MEASUREMENTS as readonly string[]).includes(name);
  if (env.BENCH_ONLY) {
    const named = env.BENCH_ONLY.split(',').map((name) => name.trim());
    const unknown = named.filter((name) => !isMeasurement(name));
    if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown ${unknown.join(', ')}; choose from ${MEASUREMENTS.join(', ')}`);
    return new Set(MEASUREMENTS.filter((name) => named.includes(name)));
  }
  return new Set(MEASUREMENTS.filter((name) => OPT_IN[name] === undefined || env[OPT_IN[name]] === '1'));
}

/** Set on Ctrl+C: what fails after it (the apps were stopped under the bench) is not worth reporting. */
let interrupted = false;

async function main(): Promise<number> {
  const settings = readSettings(process.env);
  // Fail before any work on a setting the apps would refuse.
  loadConfig(settings.drain.appEnv);
  const cleanup = new Cleanup();
  const interrupt = () => {
    interrupted = true;
    note('interrupted: cleaning up');
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    const machine = await describeMachine(settings.urls);
    let overhead: OverheadResult | null = null;
    let drain: DrainResult | null = null;
    let partitions: PartitionsResult | null = null;
    let sharedKeys: PartitionsResult | null = null;
    let transactions: TransactionsResult | null = null;
    let snapshot: SnapshotResult | null = null;
    let latency: LatencyResult | null = null;
    let isolation: IsolationResult | null = null;
    let redisMemory: RedisMemoryResult | null = null;
    let manyRoutes: ManyRoutesResult | null = null;
    let brokers: BrokerDrain[] | null = null;
    const runs = (measurement: Measurement) => settings.measurements.has(measurement);
    if (runs('overhead')) {
      note(`capture overhead: ${settings.overhead.pairs} pairs of ${settings.overhead.statements} statements`);
      overhead = await measureCaptureOverhead({ ...settings.overhead, mysqlUrl: settings.urls.mysql }, cleanup);
      // Each phase removes what it made before the next one runs, so the drain starts on a quiet server.
      await cleanup.run();
    }
    if (runs('drain')) {
      note(`drain: writing the backlog (${settings.drain.inserts} inserts and the updates and deletes that follow)`);
      drain = await measureDrain({ ...settings.drain, ...urlOptions(settings) }, cleanup);
      await cleanup.run();
    }
    if (runs('partitions')) {
      note(`partitions: ${settings.partitions.pairs} pairs of drains (1 and 2 partitions, two workers) of ${settings.partitions.inserts} inserts and what follows`);
      partitions = await measurePartitions({ ...settings.partitions, ...urlOptions(settings) }, cleanup);
      await cleanup.run();
    }
    if (runs('shared-keys')) {
      note(`shared-keys: ${settings.partitions.pairs} pairs of drains (the route alone in its table, and sharing it with a second source) of ${settings.partitions.inserts} inserts and what follows`);
      sharedKeys = await measurePartitions({ ...settings.partitions, ...urlOptions(settings) }, cleanup, SHARED_KEY_VARIANTS);
      await cleanup.run();
    }
    if (runs('transactions')) {
      note(`transactions: ${settings.transactions.pairs} pairs of runs (the target per route, and transactional) of ${settings.transactions.transfers} transfers`);
      transactions = await measureTransactions({ ...settings.transactions, ...urlOptions(settings) }, cleanup);
      await cleanup.run();
    }
    if (runs('snapshot')) {
      note(`snapshot: filling a table with ${settings.snapshot.rows} rows before capture`);
      snapshot = await measureSnapshot({ ...settings.snapshot, ...urlOptions(settings) }, cleanup);
      await cleanup.run();
    }
    if (runs('latency')) {
      note(`latency: ${settings.latency.rates.join(', ')} rows/s, ${settings.latency.seconds} s each, Tributary and the minimal pipeline`);
      latency = await measureLatency({ ...settings.latency, ...urlOptions(settings) }, cleanup);
      await cleanup.run();
    }
    if (runs('isolation')) {
      note(`isolation: two routes of one table, one target down for ${settings.isolation.downSeconds} s`);
      isolation = await measureIsolation({ ...settings.isolation, ...urlOptions(settings) }, cleanup);
      await cleanup.run();
    }
    if (runs('redis-memory')) {
      note(`redis-memory: writing a backlog of ${settings.redisMemory.changes} changes for ${settings.redisMemory.routes} routes`);
      redisMemory = await measureRedisMemory({ ...settings.redisMemory, ...urlOptions(settings) }, cleanup);
      await cleanup.run();
    }
    if (runs('routes')) {
      note(`routes: capturing ${settings.manyRoutes.routes} tables, one route each`);
      manyRoutes = await measureManyRoutes({ ...settings.manyRoutes, ...urlOptions(settings) }, cleanup);
      await cleanup.run();
    }
    if (runs('brokers')) {
      note(`brokers: the drain's backlog (${settings.brokers.inserts} inserts and what follows) into NATS JetStream and RabbitMQ`);
      brokers = await measureBrokers({ ...settings.brokers, ...urlOptions(settings) }, cleanup);
      await cleanup.run();
    }
    process.stdout.write(report(machine, settings, { overhead, drain, partitions, sharedKeys, transactions, snapshot, latency, isolation, redisMemory, manyRoutes, brokers }));
    const failed =
      (drain && (!drainVerified(drain) || (drain.minimal && !minimalVerified(drain.minimal)))) ||
      (partitions && !partitionsVerified(partitions)) ||
      (sharedKeys && !partitionsVerified(sharedKeys)) ||
      (transactions && !transactionsVerified(transactions)) ||
      (snapshot && !snapshotVerified(snapshot)) ||
      (latency && !latencyVerified(latency)) ||
      (isolation && !isolationVerified(isolation)) ||
      (redisMemory && !redisMemoryVerified(redisMemory)) ||
      (manyRoutes && !manyRoutesVerified(manyRoutes)) ||
      (brokers && !brokersVerified(brokers));
    return failed ? 1 : 0;
  } finally {
    await cleanup.run();
  }
}

function drainVerified(drain: DrainResult): boolean {
  return rowsEqual(drain.rows) && drain.deadLetters === 0;
}

/** The copy is exact: done, every source row at the target with the same total, nothing dead-lettered. */
function snapshotVerified(result: SnapshotResult): boolean {
  const { verify } = result;
  return (
    verify.status === 'done' &&
    verify.source === result.rows &&
    rowsEqual(verify) &&
    result.deadLetters === 0
  );
}

function urlOptions(settings: BenchSettings): { mysqlUrl: string; postgresUrl: string; redisUrl: string } {
  return { mysqlUrl: settings.urls.mysql, postgresUrl: settings.urls.postgres, redisUrl: settings.urls.redis };
}

interface Results {
  overhead: OverheadResult | null;
  drain: DrainResult | null;
  partitions: PartitionsResult | null;
  sharedKeys: PartitionsResult | null;
  transactions: TransactionsResult | null;
  snapshot: SnapshotResult | null;
  latency: LatencyResult | null;
  isolation: IsolationResult | null;
  redisMemory: RedisMemoryResult | null;
  manyRoutes: ManyRoutesResult | null;
  brokers: BrokerDrain[] | null;
}

function report(machine: MachineInfo, settings: BenchSettings, results: Results): string {
  const { overhead, drain, partitions, sharedKeys, transactions, snapshot, latency, isolation, redisMemory, manyRoutes, brokers } = results;
  const lines = [
    `Tributary bench, ${new Date().toISOString()}`,
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB; node ${machine.node}; ` +
      `MariaDB ${machine.mariadb}; PostgreSQL ${machine.postgres}; Redis ${machine.redis}`,
    `server settings: ${machine.settings}; load average at start ${machine.loadAtStart.toFixed(2)}`,
    '',
  ];
  if (overhead) lines.push(...overheadReport(overhead), '');
  if (drain) lines.push(...drainReport(drain, settings), '');
  if (partitions) lines.push(...partitionsReport(partitions), '');
  if (sharedKeys) lines.push(...partitionsReport(sharedKeys), '');
  if (transactions) lines.push(...transactionsReport(transactions), '');
  if (snapshot) lines.push(...snapshotReport(snapshot, settings), '');
  if (latency) lines.push(...latencyReport(latency), '');
  if (brokers) lines.push(...brokersReport(brokers), '');
  if (isolation) lines.push(...isolationReport(isolation), '');
  if (redisMemory) lines.push(...redisMemoryReport(redisMemory), '');
  if (manyRoutes) lines.push(...manyRoutesReport(manyRoutes), '');
  return lines.join('\n');
}

function overheadReport(result: OverheadResult): string[] {
  const { options } = result;
  const busy = (round: RoundResult) => `${(round.machineBusy * 100).toFixed(0)}%`;
  const others = (round: RoundResult) => round.otherCores.toFixed(2);
  const rows = result.pairs.map((pair, i) => [
    String(i + 1),
    formatInt(pair.off.perSecond),
    formatInt(pair.on.perSecond),
    pair.ratio.toFixed(3),
    `${pair.off.serverMicrosPerStatement.toFixed(0)} / ${pair.on.serverMicrosPerStatement.toFixed(0)}`,
    `${busy(pair.off)} / ${busy(pair.on)}`,
    `${others(pair.off)} / ${others(pair.on)}`,
    formatInt(pair.on.outboxRows),
  ]);
  rows.push([
    'median',
    formatInt(result.medianOff),
    formatInt(result.medianOn),
    result.medianRatio.toFixed(3),
    `${result.medianServerMicrosOff.toFixed(0)} / ${result.medianServerMicrosOn.toFixed(0)}`,
    '',
    '',
    '',
  ]);
  const overhead = 1 - result.medianRatio;
  return [
    `Capture overhead: ${options.connections} connections, ${formatInt(options.statements)} write statements per round ` +
      `(autocommit INSERT/UPDATE/DELETE and 2-statement transactions), ${options.pairs} alternating pairs (off, on)`,
    table(
      ['pair', 'off stmt/s', 'on stmt/s', 'on/off', 'MariaDB CPU µs/stmt off / on', 'machine busy off / on', 'other processes (cores) off / on', 'outbox rows'],
      rows,
    ),
    `capture costs the source ${(overhead * 100).toFixed(1)}% of its write throughput ` +
      `(median of pair ratios; goal < ${GOAL_MAX_OVERHEAD * 100}%: ${overhead < GOAL_MAX_OVERHEAD ? 'met' : 'NOT met'})`,
  ];
}

function drainReport(result: DrainResult, settings: BenchSettings): string[] {
  const { backlog } = result;
  const rate = backlog.changes / result.seconds;
  const steady = steadyRate(result.seconds, result.firstProgressAt, result.firstProgressSeq, backlog.maxSeq);
  const config = loadConfig(settings.drain.appEnv);
  const verified = drainVerified(result);
  const apps = settings.drain.apps === 'split' ? 'relay + worker processes' : 'all-in-one process';
  return [
    `Drain: ${formatInt(backlog.changes)} outbox changes (${formatInt(backlog.inserts)} inserts, ${formatInt(backlog.updates)} updates, ` +
      `${formatInt(backlog.deletes)} deletes; written through the triggers at ${formatInt(backlog.changes / backlog.writeSeconds)} rows/s) ` +
      `→ PostgreSQL, ${apps}`,
    table(
      ['measure', 'value'],
      [
        ['drain time (from process start)', `${result.seconds.toFixed(1)} s`],
        [
          'drain rate',
          `${formatInt(rate)} changes/s (goal >= ${formatInt(GOAL_MIN_DRAIN_RATE)}: ${rate >= GOAL_MIN_DRAIN_RATE ? 'met' : 'NOT met'})` +
            minimalRatio(result.minimal, backlog.changes, rate),
        ],
        ['rate after the first applied batch', `${formatInt(steady)} changes/s (first batch at ${result.firstProgressAt.toFixed(1)} s)`],
        ['relay had read the whole backlog at', result.relayDoneAt === null ? '?' : `${result.relayDoneAt.toFixed(1)} s`],
        ['peak RSS (VmHWM)', rssList(result.peakRssMiB)],
        ['CPU during the drain (% of wall)', cpuUse(result.cpu, result.seconds, { withSeconds: true })],
        ['machine busy (all cores)', machineLoad(result)],
        ['applied / dead letters', `${formatInt(result.appliedTotal)} / ${result.deadLetters}`],
        ['rows source / target', `${formatInt(result.rows.source)} / ${formatInt(result.rows.target)}`],
        ['SUM(amount) source / target', `${result.rows.sourceSum} / ${result.rows.targetSum}`],
        ['verified', verified ? 'yes' : 'NO'],
      ],
      false,
    ),
    `settings: RELAY_BATCH_ROWS=${config.relay.batchRows} JOB_MAX_ROWS=${config.relay.jobMaxRows} JOB_MAX_BYTES=${config.relay.jobMaxBytes} ` +
      `RELAY_POLL_MIN_MS=${config.relay.pollMinMs} RELAY_POLL_MAX_MS=${config.relay.pollMaxMs}` +
      (settings.drain.pgAnalyzeSeconds ? ` BENCH_PG_ANALYZE_S=${settings.drain.pgAnalyzeSeconds}` : '') +
      (settings.drain.nodeArgs.length > 0 ? ` node ${settings.drain.nodeArgs.join(' ')}` : ''),
    ...(result.minimal ? ['', ...minimalDrainReport(result.minimal, backlog.changes, backlog.maxSeq, { rate, steady })] : []),
  ];
}

function snapshotReport(result: SnapshotResult, settings: BenchSettings): string[] {
  const config = loadConfig(settings.snapshot.appEnv);
  const seconds = (value: number | null) => (value === null || Number.isNaN(value) ? '?' : `${value.toFixed(1)} s`);
  // Wall times of the two CPU windows, as the bench split them (at the first poll that saw the final seq).
  const copiedAt = result.copiedAt;
  const catchUpCpu = Object.fromEntries(Object.entries(result.cpu).map(([group, used]) => [group, used - (result.cpuCopying[group] ?? 0)]));
  const { verify } = result;
  return [
    `Snapshot: initial copy of ${formatInt(result.rows)} rows (table filled before capture in ${result.fillSeconds.toFixed(1)} s, ` +
      `empty outbox) → PostgreSQL, relay + worker processes, timed from routes.create`,
    table(
      ['measure', 'value'],
      [
        ['copy time (request → done)', `${result.seconds.toFixed(1)} s`],
        ['copy rate (end to end)', `${formatInt(result.rows / result.seconds)} rows/s`],
        ['routes.create (checks, row count, request)', seconds(result.createSeconds)],
        ['waiting for the copier (requested → started)', seconds(result.waitingSeconds)],
        [
          'copying (started → copied)',
          `${seconds(result.copyingSeconds)}: ${formatInt(result.rowsCopied)} rows in ${result.chunks} chunks, ` +
            `${formatInt(result.rowsCopied / result.copyingSeconds)} rows/s`,
        ],
        ['catching up (copied → done)', seconds(result.catchingUpSeconds)],
        [
          'route applied through final seq / relay read it at',
          `${seconds(result.appliedAt)} / ${seconds(result.relayDoneAt)} (final seq ${formatInt(result.finalSeq)})`,
        ],
        ['copier ahead of the route (max)', `${formatInt(result.maxAhead)} outbox rows (copy chunks; bound SNAPSHOT_MAX_IN_FLIGHT_ROWS=${config.snapshot.maxInFlightRows} rows)`],
        ['peak RSS (VmHWM)', rssList(result.peakRssMiB)],
        ['CPU from the request until copied (% of wall)', cpuUse(result.cpuCopying, copiedAt, { withSeconds: true })],
        ['CPU while catching up (% of wall)', cpuUse(catchUpCpu, Math.max(0.001, result.seconds - copiedAt), { withSeconds: true })],
        ['machine busy (all cores)', machineLoad(result)],
        ['outbox rows / dead letters', `${formatInt(result.outboxRows)} / ${result.deadLetters}`],
        ['rows source / target', `${formatInt(verify.source)} / ${formatInt(verify.target)}`],
        ['SUM(amount) source / target', `${verify.sourceSum} / ${verify.targetSum}`],
        ['verified', snapshotVerified(result) ? 'yes' : `NO (status ${verify.status})`],
      ],
      false,
    ),
    'timeline (bench clock from the request; seqs count outbox rows: a copy chunk each, the outbox holds nothing else):',
    table(
      ['t (s)', 'status', 'rows copied', 'copier seq', 'relay seq', 'route seq'],
      timeline(result.samples).map((sample) => [
        sample.at.toFixed(1),
        sample.status,
        formatInt(sample.rowsCopied),
        formatInt(sample.copiedSeq),
        formatInt(sample.relaySeq),
        formatInt(sample.appliedSeq),
      ]),
    ),
    `settings: SNAPSHOT_CHUNK_ROWS=${config.snapshot.chunkRows} SNAPSHOT_MAX_IN_FLIGHT_ROWS=${config.snapshot.maxInFlightRows} ` +
      `CONFIG_REFRESH_MS=${config.configRefreshMs} (the copier's poll) RELAY_BATCH_ROWS=${config.relay.batchRows} JOB_MAX_ROWS=${config.relay.jobMaxRows}` +
      (settings.snapshot.nodeArgs.length > 0 ? ` node ${settings.snapshot.nodeArgs.join(' ')}` : ''),
  ];
}

/** At most a dozen evenly spread samples, always the last: enough to see which stage waits for which. */
function timeline<T>(samples: readonly T[]): T[] {
  if (samples.length <= 12) return [...samples];
  const step = (samples.length - 1) / 11;
  return Array.from({ length: 12 }, (_, i) => samples[Math.round(i * step)]);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (interrupted) return; // the interrupt handler exits once everything is cleaned up
    note(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);

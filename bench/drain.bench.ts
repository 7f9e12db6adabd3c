import 'reflect-metadata';
import { loadConfig } from '@tributary/config';
import { measureCaptureOverhead, OverheadOptions, OverheadResult, RoundResult } from './capture-overhead';
import { DrainOptions, DrainResult, measureDrain } from './drain';
import { describeMachine, MachineInfo } from './machine';
import { Cleanup, formatInt, note, table } from './support';

/**
 * `npm run bench`: what capture costs the source (alternating pairs, triggers
 * off and on) and how fast a backlog of changes drains into PostgreSQL.
 * Only the summary goes to stdout; progress goes to stderr. Every database
 * and Redis key it creates is removed, also when it fails or is interrupted.
 *
 * Knobs (environment): BENCH_PAIRS, BENCH_STATEMENTS, BENCH_CONNECTIONS,
 * BENCH_INSERTS, BENCH_APPS (split | allinone), BENCH_ONLY (overhead | drain),
 * BENCH_NODE_ARGS, BENCH_PG_ANALYZE_S, BENCH_TIMEOUT_S, BENCH_MYSQL_URL, BENCH_POSTGRES_URL,
 * BENCH_REDIS_URL; and any Tributary setting (RELAY_*, JOB_*, WORKER_*,
 * OUTBOX_*, CONFIG_REFRESH_MS), passed on to the apps.
 */

/** Goals from the issue ("less than 15%", "tens of thousands of changes per second", read as at least 20k): reported, not enforced. */
const GOAL_MAX_OVERHEAD = 0.15;
const GOAL_MIN_DRAIN_RATE = 20_000;

interface BenchSettings {
  urls: { mysql: string; postgres: string; redis: string };
  only: 'overhead' | 'drain' | null;
  overhead: Omit<OverheadOptions, 'mysqlUrl'>;
  drain: Omit<DrainOptions, 'mysqlUrl' | 'postgresUrl' | 'redisUrl'>;
}

/** Tributary settings the bench passes through to the apps. */
const APP_SETTING = /^(RELAY_|JOB_|WORKER_|OUTBOX_|CONFIG_REFRESH_MS$)/;

function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  const int = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
    return value;
  };
  const apps = env.BENCH_APPS ?? 'split';
  if (apps !== 'split' && apps !== 'allinone') throw new Error('BENCH_APPS must be split or allinone');
  const only = env.BENCH_ONLY ?? null;
  if (only !== null && only !== 'overhead' && only !== 'drain') throw new Error('BENCH_ONLY must be overhead or drain');
  const appEnv = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => APP_SETTING.test(entry[0]) && entry[1] !== undefined),
  );
  return {
    urls: {
      mysql: env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
      postgres: env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432',
      redis: env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    },
    only,
    overhead: { pairs: int('BENCH_PAIRS', 7), statements: int('BENCH_STATEMENTS', 20_000), connections: int('BENCH_CONNECTIONS', 4) },
    drain: {
      inserts: int('BENCH_INSERTS', 120_000),
      apps,
      appEnv,
      nodeArgs: (env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
      pgAnalyzeSeconds: env.BENCH_PG_ANALYZE_S ? int('BENCH_PG_ANALYZE_S', 1) : null,
      timeoutMs: int('BENCH_TIMEOUT_S', 600) * 1000,
    },
  };
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
    if (settings.only !== 'drain') {
      note(`capture overhead: ${settings.overhead.pairs} pairs of ${settings.overhead.statements} statements`);
      overhead = await measureCaptureOverhead({ ...settings.overhead, mysqlUrl: settings.urls.mysql }, cleanup);
      // Each phase removes what it made before the next one runs, so the drain starts on a quiet server.
      await cleanup.run();
    }
    if (settings.only !== 'overhead') {
      note(`drain: writing the backlog (${settings.drain.inserts} inserts and the updates and deletes that follow)`);
      drain = await measureDrain(
        { ...settings.drain, mysqlUrl: settings.urls.mysql, postgresUrl: settings.urls.postgres, redisUrl: settings.urls.redis },
        cleanup,
      );
    }
    process.stdout.write(report(machine, settings, overhead, drain));
    return drain && !drainVerified(drain) ? 1 : 0;
  } finally {
    await cleanup.run();
  }
}

function drainVerified(drain: DrainResult): boolean {
  return drain.rows.source === drain.rows.target && drain.rows.sourceSum === drain.rows.targetSum && drain.deadLetters === 0;
}

function report(machine: MachineInfo, settings: BenchSettings, overhead: OverheadResult | null, drain: DrainResult | null): string {
  const lines = [
    `Tributary bench, ${new Date().toISOString()}`,
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB; node ${machine.node}; ` +
      `MariaDB ${machine.mariadb}; PostgreSQL ${machine.postgres}; Redis ${machine.redis}`,
    `server settings: ${machine.settings}; load average at start ${machine.loadAtStart.toFixed(2)}`,
    '',
  ];
  if (overhead) lines.push(...overheadReport(overhead), '');
  if (drain) lines.push(...drainReport(drain, settings), '');
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
  const steadySeconds = result.seconds - result.firstProgressAt;
  const steady = steadySeconds > 0 ? (backlog.maxSeq - result.firstProgressSeq) / steadySeconds : Number.NaN;
  const config = loadConfig(settings.drain.appEnv);
  const cpu = Object.entries(result.cpu)
    .filter(([, seconds]) => seconds > 0)
    .map(([group, seconds]) => `${group} ${seconds.toFixed(1)} s (${((seconds / result.seconds) * 100).toFixed(0)}%)`);
  const rss = Object.entries(result.peakRssMiB).map(([app, mib]) => `${app} ${mib === null ? '?' : mib.toFixed(0)} MiB`);
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
        ['drain rate', `${formatInt(rate)} changes/s (goal >= ${formatInt(GOAL_MIN_DRAIN_RATE)}: ${rate >= GOAL_MIN_DRAIN_RATE ? 'met' : 'NOT met'})`],
        ['rate after the first applied batch', `${formatInt(steady)} changes/s (first batch at ${result.firstProgressAt.toFixed(1)} s)`],
        ['relay had enqueued everything at', result.relayDoneAt === null ? '?' : `${result.relayDoneAt.toFixed(1)} s`],
        ['peak RSS (VmHWM)', rss.join(', ')],
        ['CPU during the drain (% of wall)', cpu.join(', ')],
        ['machine busy (all cores)', `${(result.machineBusy * 100).toFixed(0)}%, of which other processes ${result.otherCores.toFixed(2)} cores`],
        ['applied / dead letters', `${formatInt(result.appliedTotal)} / ${result.deadLetters}`],
        ['rows source / target', `${formatInt(result.rows.source)} / ${formatInt(result.rows.target)}`],
        ['SUM(amount) source / target', `${result.rows.sourceSum} / ${result.rows.targetSum}`],
        ['verified', verified ? 'yes' : 'NO'],
      ],
      false,
    ),
    `settings: RELAY_BATCH_ROWS=${config.relay.batchRows} JOB_MAX_ROWS=${config.relay.jobMaxRows} JOB_MAX_BYTES=${config.relay.jobMaxBytes} ` +
      `RELAY_MAX_QUEUE_JOBS=${config.relay.maxQueueJobs} RELAY_POLL_MIN_MS=${config.relay.pollMinMs} RELAY_POLL_MAX_MS=${config.relay.pollMaxMs}` +
      (settings.drain.pgAnalyzeSeconds ? ` BENCH_PG_ANALYZE_S=${settings.drain.pgAnalyzeSeconds}` : '') +
      (settings.drain.nodeArgs.length > 0 ? ` node ${settings.drain.nodeArgs.join(' ')}` : ''),
  ];
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (interrupted) return; // the interrupt handler exits once everything is cleaned up
    note(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);

import { RouteStateReading } from './admin-status';
import { IsolationResult } from './isolation';
import { ManyRoutesResult } from './many-routes';
import { rowsEqual } from './deployment';
import { cpuUse, formatInt, machineLoad, megabytes, milliseconds, rssList, table } from './format';
import { RedisMemoryResult } from './redis-memory';
import { LatencyStats } from './visibility-probe';

/**
 * The summary sections of the flow-control measurements (issue #10):
 * isolation, Redis memory under a backlog, many routes.
 */

export function isolationVerified(result: IsolationResult): boolean {
  const { healthy, sick } = result.verify;
  return rowsEqual(healthy) && rowsEqual(sick) && result.deadLetters === 0 && result.unseen === 0;
}

export function isolationReport(result: IsolationResult): string[] {
  const { options, writes, verify } = result;
  const down = result.phases.find((phase) => phase.name === 'sick target down');
  const lag = (changes: number, seconds: number) => `${formatInt(changes)} / ${seconds.toFixed(1)} s`;
  const phaseRows = result.phases.map((phase) => [
    phase.name,
    `${phase.from.toFixed(1)}–${phase.to.toFixed(1)}`,
    latencyCells(phase.healthyLatency),
    `${formatInt(phase.healthyLatency.seen)} of ${formatInt(phase.healthyLatency.committed)}`,
    lag(phase.healthyMaxLag.changes, phase.healthyMaxLag.seconds),
    lag(phase.sickMaxLag.changes, phase.sickMaxLag.seconds),
  ]);
  phaseRows.push([
    'whole run',
    '',
    latencyCells(result.healthyOverall),
    `${formatInt(result.healthyOverall.seen)} of ${formatInt(result.healthyOverall.committed)}`,
    '',
    '',
  ]);
  const state = (reading: RouteStateReading | null) =>
    reading
      ? `${reading.state} (lag ${reading.lagChanges === null ? '?' : formatInt(reading.lagChanges)} / ${reading.lagSeconds === null ? '?' : `${reading.lagSeconds.toFixed(0)} s`})`
      : 'missing';
  return [
    `Isolation: one table, two routes to PostgreSQL; the sick route's target sits behind a TCP proxy that is down from ` +
      `t=${down ? down.from.toFixed(1) : '?'} s for ${options.downSeconds} s; ${options.rate} single-row INSERTs/s (autocommit) over ` +
      `${options.writers} connections for ${options.warmupSeconds + options.downSeconds + options.afterSeconds} s; relay + worker + admin processes`,
    'healthy route, commit → visible at its target (pg_notify; phases by commit time), and each route\'s worst lag ' +
      '(outbox MAX(seq) − route watermark / age of its oldest unapplied change, sampled every 100 ms):',
    table(['phase', 't (s)', 'healthy p50 / p99 / max (ms)', 'seen', 'healthy max lag', 'sick max lag'], phaseRows),
    table(
      ['measure', 'value'],
      [
        ['healthy route: longest stall (watermark still, changes waiting)', `${result.healthyLongestStallSeconds.toFixed(1)} s`],
        [
          'healthy route while the sick target was down: watermark moved / outbox grew',
          // Can exceed the outbox's growth: the route may have been a few changes behind when the outage began.
          `${formatInt(result.whileDown.healthyAdvanced)} / ${formatInt(result.whileDown.outboxAdvanced)} changes`,
        ],
        ['sick route: caught up after its target came back', `${result.sickCaughtUpSeconds.toFixed(1)} s`],
        ['after the last write, applied everything in', `healthy ${result.drainedAfterWrites.healthy.toFixed(1)} s, sick ${result.drainedAfterWrites.sick.toFixed(1)} s`],
        ['writes', `${formatInt(writes.count)} rows in ${writes.seconds.toFixed(1)} s (writers at most ${formatInt(writes.maxBehindMs)} ms behind schedule)`],
        ['CPU over the run (% of one core)', cpuUse(result.cpu.perGroup, result.cpu.seconds)],
        ['machine busy (all cores)', machineLoad(result.cpu)],
        ['healthy changes never seen at the target / dead letters', `${result.unseen} / ${result.deadLetters}`],
        ['rows source / healthy / sick', `${formatInt(verify.healthy.source)} / ${formatInt(verify.healthy.target)} / ${formatInt(verify.sick.target)}`],
        ['SUM(amount) source / healthy / sick', `${verify.healthy.sourceSum} / ${verify.healthy.targetSum} / ${verify.sick.targetSum}`],
        ['verified (both targets equal the source)', isolationVerified(result) ? 'yes' : 'NO'],
      ],
      false,
    ),
    'GET /api/status (state, and lag changes / seconds as the API reports it):',
    table(
      ['t (s)', 'phase', 'healthy', 'sick', 'sick lastError'],
      result.statuses.map((reading) => [
        reading.at.toFixed(1),
        reading.phase,
        state(reading.healthy),
        state(reading.sick),
        abbreviate(reading.sick?.lastError ?? ''),
      ]),
      false,
    ),
    `status said while the sick target was down: healthy ${statesWhileDown(result, 'healthy')}; sick ${statesWhileDown(result, 'sick')}`,
  ];
}

/** The issue's bound for 1M changes over 5 routes; printed beside the peak, not enforced. */
const GOAL_REDIS_MB = 50;

export function redisMemoryVerified(result: RedisMemoryResult): boolean {
  return result.deadLetters === 0 && result.verify.every(rowsEqual);
}

export function redisMemoryReport(result: RedisMemoryResult): string[] {
  const { backlog, relayAlone, drain } = result;
  const peak = Math.max(relayAlone.keysPeakBytes, drain.keysPeakBytes);
  const usedPeak = Math.max(relayAlone.redisPeakBytes, drain.redisPeakBytes);
  const unequal = result.verify.filter((rows) => !rowsEqual(rows));
  return [
    `Redis memory: a backlog of ${formatInt(backlog.changes)} changes in one table (written through the triggers at ` +
      `${formatInt(backlog.changes / backlog.writeSeconds)} rows/s), ${result.routes} routes of it to ${result.routes} tables in one PostgreSQL ` +
      `database; the relay alone for ${relayAlone.seconds.toFixed(0)} s, then the worker too until drained. Redis used_memory sampled every ` +
      `250 ms, as growth over the reading before the relay started (whole server: other sessions count too), and this run's own keys ` +
      `(MEMORY USAGE) every second; MB = 10^6 bytes`,
    table(
      ['measure', 'value'],
      [
        ['used_memory before the relay started', megabytes(result.baselineBytes)],
        ['relay alone: Redis growth, peak / at the end', `${megabytes(relayAlone.redisPeakBytes)} / ${megabytes(relayAlone.redisEndBytes)}`],
        ["relay alone: this run's keys at their peak", megabytes(relayAlone.keysPeakBytes)],
        ['relay alone: read the outbox through seq', `${formatInt(relayAlone.readSeq)} of ${formatInt(backlog.maxSeq)}`],
        ['relay alone: relay peak RSS (VmHWM)', rssList(relayAlone.peakRssMiB)],
        [
          'drain (worker start → every route applied everything)',
          `${drain.seconds.toFixed(1)} s, ${formatInt((backlog.changes * result.routes) / drain.seconds)} route-changes/s`,
        ],
        ['drain: Redis growth, peak / at the end', `${megabytes(drain.redisPeakBytes)} / ${megabytes(drain.redisEndBytes)}`],
        ["drain: this run's keys at their peak", megabytes(drain.keysPeakBytes)],
        ['drain: peak RSS (VmHWM)', rssList(drain.peakRssMiB)],
        ['drain: CPU (% of one core)', cpuUse(drain.cpu, drain.seconds)],
        ['drain: machine busy (all cores)', machineLoad(drain)],
        [
          'peak over the whole run: used_memory growth / our keys',
          `${megabytes(usedPeak)} / ${megabytes(peak)} (goal for 1M changes × 5 routes, judged on our keys: < ${GOAL_REDIS_MB} MB: ` +
            `${peak / 1e6 < GOAL_REDIS_MB ? 'met' : 'NOT met'})`,
        ],
        ['dead letters', String(result.deadLetters)],
        ['every target table equals the source (count, SUM(amount))', unequal.length === 0 ? 'yes' : `NO: ${unequal.map((rows) => rows.targetTable).join(', ')}`],
      ],
      false,
    ),
  ];
}

/** Every trickle write reached its table, nothing dead-lettered. */
export function manyRoutesVerified(result: ManyRoutesResult): boolean {
  return result.deadLetters === 0 && result.trickle.unseen === 0;
}

export function manyRoutesReport(result: ManyRoutesResult): string[] {
  const { idle, trickle, setupSeconds } = result;
  const clients = idle.redisClients;
  const connections = Object.entries(idle.redisConnections)
    .map(([app, count]) => `${app} ${count === null ? '?' : count}`)
    .join(', ');
  return [
    `Many routes: ${formatInt(result.routes)} captured tables, one route each to its own PostgreSQL table; relay + worker processes ` +
      `(setup: tables ${setupSeconds.tables.toFixed(1)} s, capture ${setupSeconds.capture.toFixed(1)} s, routes ${setupSeconds.routes.toFixed(1)} s, ` +
      `target tables and probe triggers ${setupSeconds.targets.toFixed(1)} s)`,
    table(
      ['measure', 'value'],
      [
        ['every route applied its first row', `${result.readySeconds.toFixed(1)} s after the apps started`],
        [`idle (${idle.seconds.toFixed(0)} s, no writes): CPU (% of one core; servers are whole servers)`, cpuUse(idle.cpu, idle.seconds)],
        ['idle: machine busy (all cores)', machineLoad(idle)],
        ['idle: Redis connections held (counted at the apps)', connections],
        ['idle: Redis connected_clients before the apps / idle', `${clients.before} / ${clients.idle} (+${clients.idle - clients.before}, whole server)`],
        ['idle: RSS', rssList(idle.rssMiB)],
        [
          `trickle (${formatInt(trickle.writes.count)} single-row INSERTs, ${trickle.writes.achievedRate.toFixed(0)}/s at random tables): ` +
            'commit → visible p50 / p95 / p99 / max (ms)',
          [trickle.latency.p50, trickle.latency.p95, trickle.latency.p99, trickle.latency.max].map(milliseconds).join(' / '),
        ],
        ['trickle: seen at the target / writers behind schedule at most', `${formatInt(trickle.latency.seen)} of ${formatInt(trickle.latency.committed)} / ${formatInt(trickle.writes.maxBehindMs)} ms`],
        ['peak RSS over the run (VmHWM)', rssList(result.peakRssMiB)],
        ['dead letters', String(result.deadLetters)],
      ],
      false,
    ),
  ];
}

function statesWhileDown(result: IsolationResult, route: 'healthy' | 'sick'): string {
  const states = result.statuses.filter((reading) => reading.phase === 'sick target down').map((reading) => reading[route]?.state ?? 'missing');
  return states.length === 0 ? 'not sampled' : [...new Set(states)].join(', ');
}

/** `p50 / p99 / max` in ms, or `-` when nothing was seen. */
function latencyCells(stats: LatencyStats): string {
  return [stats.p50, stats.p99, stats.max].map(milliseconds).join(' / ');
}

function abbreviate(text: string, length = 70): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= length ? line : `${line.slice(0, length - 1)}…`;
}

import { cpuUse, formatInt, milliseconds, table } from './format';
import { LatencyPhase, LatencyResult } from './latency';

/** Issue #10's target for Tributary at 1,000 writes/s: reported, not enforced. */
const GOAL_RATE = 1000;
const GOAL_P50_MS = 10;
const GOAL_P99_MS = 50;

/** The latency section of the summary: both pipelines at each rate, side by side. */
export function latencyReport(result: LatencyResult): string[] {
  const cpu = (phase: LatencyPhase) => `${cpuUse(phase.cpu, phase.wallSeconds)}, others ${(phase.otherCores * 100).toFixed(0)}%`;
  const rows = result.phases.map((phase) => [
    formatInt(phase.rate),
    phase.pipeline,
    String(phase.connections),
    formatInt(phase.achievedRate),
    formatInt(phase.visible.committed),
    formatInt(missing(phase)),
    milliseconds(phase.visible.p50),
    milliseconds(phase.visible.p95),
    milliseconds(phase.visible.p99),
    milliseconds(phase.visible.max),
    `${milliseconds(phase.write.p50)} / ${milliseconds(phase.write.p99)}`,
    cpu(phase),
  ]);
  return [
    `Latency: commit at the source → visible at PostgreSQL (pg_notify from a trigger on the target table, LISTEN), ` +
      `single-row autocommit inserts paced over several connections, ${result.seconds} s per rate and pipeline; ` +
      `Tributary = relay + worker processes, minimal = bench/minimal (same queue and databases, jobs carry seq ranges); ` +
      `CPU "others" = processes outside the run (noise)`,
    table(
      ['rate/s', 'pipeline', 'conns', 'achieved/s', 'rows', 'missing', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'INSERT p50 / p99 ms', 'CPU (% of a core)'],
      rows,
    ),
    goal(result.phases),
  ];
}

function goal(phases: readonly LatencyPhase[]): string {
  const phase = phases.find((p) => p.pipeline === 'tributary' && p.rate === GOAL_RATE);
  const target = `goal for Tributary at ${formatInt(GOAL_RATE)}/s: p50 <= ${GOAL_P50_MS} ms, p99 <= ${GOAL_P99_MS} ms`;
  if (!phase || phase.visible.seen === 0) return `${target}: not measured`;
  const met = missing(phase) === 0 && phase.visible.p50 <= GOAL_P50_MS && phase.visible.p99 <= GOAL_P99_MS;
  return `${target}: ${met ? 'met' : 'NOT met'} (p50 ${phase.visible.p50.toFixed(1)} ms, p99 ${phase.visible.p99.toFixed(1)} ms)`;
}

/** Every row written arrived, in every phase. */
export function latencyVerified(result: LatencyResult): boolean {
  return result.phases.every((phase) => missing(phase) === 0);
}

/** Rows written in the phase that never became visible at the target before the wait gave up. */
function missing(phase: LatencyPhase): number {
  return phase.visible.committed - phase.visible.seen;
}

import { LatencyPhase, LatencyResult, Percentiles } from './latency';
import { formatInt, table } from './support';

/** Issue #10's target for Tributary at 1,000 writes/s: reported, not enforced. */
const GOAL_RATE = 1000;
const GOAL_P50_MS = 10;
const GOAL_P99_MS = 50;

/** The latency section of the summary: both pipelines at each rate, side by side. */
export function latencyReport(result: LatencyResult): string[] {
  const ms = (value: number) => (value < 10 ? value.toFixed(1) : formatInt(value));
  const visible = (p: Percentiles | null, pick: keyof Percentiles) => (p === null ? '-' : ms(p[pick]));
  const cpu = (phase: LatencyPhase) =>
    Object.entries(phase.cpuCores)
      .filter(([, cores]) => cores >= 0.005)
      .map(([group, cores]) => `${group} ${(cores * 100).toFixed(0)}%`)
      .concat(`others ${(phase.otherCores * 100).toFixed(0)}%`)
      .join(', ');
  const rows = result.phases.map((phase) => [
    formatInt(phase.rate),
    phase.pipeline,
    String(phase.connections),
    formatInt(phase.achievedRate),
    formatInt(phase.rows),
    formatInt(phase.missing),
    visible(phase.visible, 'p50'),
    visible(phase.visible, 'p95'),
    visible(phase.visible, 'p99'),
    visible(phase.visible, 'max'),
    `${ms(phase.write.p50)} / ${ms(phase.write.p99)}`,
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
  if (!phase?.visible) return `${target}: not measured`;
  const met = phase.missing === 0 && phase.visible.p50 <= GOAL_P50_MS && phase.visible.p99 <= GOAL_P99_MS;
  return `${target}: ${met ? 'met' : 'NOT met'} (p50 ${phase.visible.p50.toFixed(1)} ms, p99 ${phase.visible.p99.toFixed(1)} ms)`;
}

/** Every row written arrived, in every phase. */
export function latencyVerified(result: LatencyResult): boolean {
  return result.phases.every((phase) => phase.missing === 0);
}

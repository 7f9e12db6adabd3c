import type { RouteRecord } from '@tributary/control';

/** A route as GET /api/status reports it (the fields the CLI shows). */
export interface RouteStatus {
  route: string;
  source: string;
  table: string;
  target: string;
  targetTable: string;
  state: string;
  stateReason: string | null;
  lastError: string | null;
  lag: { changes: number | null; seconds: number | null; capped: boolean; error: string | null };
  throughput: { changesPerSecond: number };
  deadLetters: { open: number; retrying: number };
}

/** A route as GET /api/routes lists it (the fields the CLI shows). */
export type RouteSummary = Pick<RouteRecord, 'id' | 'sourceId' | 'table' | 'targetId' | 'targetTable' | 'enabled' | 'partitions'>;

/** A dead letter as GET /api/routes/:id/dead-letters lists it. */
export interface DeadLetterSummary {
  id: number;
  seq: number;
  status: string;
  key: Record<string, unknown>;
  reason: string;
  attempts: number;
}

/** States a health check fails on; a route lagging past --max-lag fails it too. */
const UNHEALTHY: ReadonlySet<string> = new Set(['failing', 'stalled']);

/** Why a route is not healthy, or null: for the exit status of `status` and the lines under its table. */
export function unhealthy(route: RouteStatus, maxLagSeconds: number): string | null {
  if (UNHEALTHY.has(route.state)) return `${route.route} is ${route.state}: ${route.stateReason ?? route.lastError ?? 'no reason given'}`;
  if (route.lag.seconds !== null && route.lag.seconds > maxLagSeconds) return `${route.route} lags ${Math.round(route.lag.seconds)} s (more than ${maxLagSeconds} s)`;
  return null;
}

/** `bucardo status`-like: one line per route, then why each unhealthy one is. */
export function formatStatus(routes: readonly RouteStatus[], maxLagSeconds: number): string {
  if (routes.length === 0) return 'no routes';
  const rows = routes.map((r) => [
    r.route,
    r.state,
    `${r.source}.${r.table} → ${r.target}.${r.targetTable}`,
    r.lag.error ? '?' : `${r.lag.changes ?? '?'}${r.lag.capped ? '+' : ''}`,
    r.lag.seconds === null ? '?' : `${round(r.lag.seconds)} s`,
    `${round(r.throughput.changesPerSecond)}/s`,
    String(r.deadLetters.open),
  ]);
  const lines = table(['ROUTE', 'STATE', 'FROM → TO', 'LAG', 'AGE', 'RATE', 'DEAD LETTERS'], rows);
  const problems = routes.map((route) => unhealthy(route, maxLagSeconds)).filter((problem): problem is string => problem !== null);
  return [...lines, ...problems.map((problem) => `  ${problem}`)].join('\n');
}

export function formatRoutes(routes: readonly RouteSummary[]): string {
  if (routes.length === 0) return 'no routes';
  return table(
    ['ROUTE', 'FROM → TO', 'ENABLED', 'PARTITIONS'],
    routes.map((r) => [r.id, `${r.sourceId}.${r.table} → ${r.targetId}.${r.targetTable}`, r.enabled ? 'yes' : 'paused', String(r.partitions ?? 1)]),
  ).join('\n');
}

export function formatDeadLetters(routeId: string, letters: readonly DeadLetterSummary[]): string {
  if (letters.length === 0) return `${routeId}: no dead letters`;
  return table(
    ['ID', 'SEQ', 'STATUS', 'ATTEMPTS', 'KEY', 'REASON'],
    letters.map((l) => [String(l.id), String(l.seq), l.status, String(l.attempts), JSON.stringify(l.key), l.reason.slice(0, 80)]),
  ).join('\n');
}

function round(value: number): string {
  return value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

/** Columns padded to their widest cell. */
function table(header: string[], rows: string[][]): string[] {
  return aligned([header, ...rows]);
}

/** Rows of cells, each column padded to its widest cell (the last one never, so no line ends in spaces). */
export function aligned(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i].length))) ?? [];
  return rows.map((cells) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
}

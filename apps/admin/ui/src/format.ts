import type { RouteState, RouteStatus, Snapshot, VerifyRun } from './api';

/** Pure presentation rules of the status page (unit-tested in format.spec.ts). */

/** A state, and whether it wants a person's eyes: the badge's colour class. */
export function stateTone(state: RouteState): 'ok' | 'warn' | 'bad' | 'idle' {
  switch (state) {
    case 'running':
      return 'ok';
    case 'lagging':
      return 'warn';
    case 'paused':
      return 'idle';
    case 'failing':
    case 'stalled':
      return 'bad';
  }
}

/** "1,234 changes · 3.2 s", or why the lag is unknown. */
export function lagText(lag: RouteStatus['lag']): string {
  if (lag.error) return `unknown (${lag.error})`;
  if (lag.changes === null) return 'unknown';
  const changes = `${lag.capped ? '≥ ' : ''}${lag.changes.toLocaleString('en')} change${lag.changes === 1 ? '' : 's'}`;
  return lag.seconds === null ? changes : `${changes} · ${durationText(lag.seconds)}`;
}

/** 0.4 s, 12 s, 3 min 5 s, 2 h 10 min. */
export function durationText(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function rateText(changesPerSecond: number): string {
  return `${changesPerSecond >= 100 ? Math.round(changesPerSecond).toLocaleString('en') : changesPerSecond.toFixed(1)}/s`;
}

/** An initial copy or re-sync still worth showing: running, or failed (finished ones are history). */
export function activeCopy(snapshot: Snapshot | null): { label: string; fraction: number | null } | null {
  if (!snapshot || snapshot.status === 'done' || snapshot.status === 'cancelled') return null;
  const copied = snapshot.rowsCopied.toLocaleString('en');
  const of = snapshot.rowsEstimated === null ? '' : ` of ~${snapshot.rowsEstimated.toLocaleString('en')}`;
  const eta = snapshot.etaSeconds === null ? '' : `, ${durationText(snapshot.etaSeconds)} left`;
  const what = snapshot.reason === 'initial' ? 'initial copy' : 're-sync';
  const label = snapshot.status === 'failed' ? `${what} failed: ${snapshot.error ?? 'no reason given'}` : `${what}: ${snapshot.status.replace('_', ' ')}, ${copied}${of} rows${eta}`;
  return { label, fraction: snapshot.status === 'failed' ? null : snapshot.fraction };
}

/** The last verify or repair run in one line. */
export function verifyText(run: VerifyRun | undefined): string | null {
  if (!run) return null;
  if (run.status === 'running') return `${run.kind} running`;
  if (run.status === 'failed') return `${run.kind} failed: ${run.error ?? 'no reason given'}`;
  const counts = `${run.missing} missing, ${run.extra} extra, ${run.different} different`;
  return `${run.kind} ${run.status}${run.status === 'matched' ? '' : ` (${counts})`}`;
}

/** Routes that need attention first, then by name, so a failing route is never below the fold. */
export function byUrgency(routes: readonly RouteStatus[]): RouteStatus[] {
  const rank: Record<RouteState, number> = { failing: 0, stalled: 1, lagging: 2, paused: 3, running: 4 };
  return [...routes].sort((a, b) => rank[a.state] - rank[b.state] || (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
}

/** One line for the page's title and header: how many routes are in each bad state. */
export function summaryText(routes: readonly RouteStatus[]): string {
  if (routes.length === 0) return 'no routes yet';
  const bad = routes.filter((r) => r.state === 'failing' || r.state === 'stalled').length;
  const lagging = routes.filter((r) => r.state === 'lagging').length;
  const letters = routes.reduce((sum, r) => sum + r.deadLetters.open, 0);
  const parts = [`${routes.length} route${routes.length === 1 ? '' : 's'}`];
  if (bad > 0) parts.push(`${bad} failing`);
  if (lagging > 0) parts.push(`${lagging} lagging`);
  if (letters > 0) parts.push(`${letters} dead letter${letters === 1 ? '' : 's'}`);
  if (bad === 0 && lagging === 0 && letters === 0) parts.push('all healthy');
  return parts.join(' · ');
}

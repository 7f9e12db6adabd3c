import { AdminApi } from './admin-api';

/** What the read commands need of the admin API (a test gives a fake). */
type AdminReader = Pick<AdminApi, 'get'>;
import { DeadLetterSummary, formatDeadLetters, formatRoutes, formatStatus, RouteStatus, RouteSummary, unhealthy } from './status-report';

/** What the read commands print to and sleep with (the CLI's CliIo, or a test's). */
export interface ReadIo {
  out(text: string): void;
  err(text: string): void;
  sleep(ms: number): Promise<void>;
}

/** Exit statuses of the read commands: 0 healthy / caught up, 1 not (yet), 2 error (EXIT_ERROR, thrown to the caller). */
const HEALTHY = 0;
const UNHEALTHY = 1;

/** `status`: every route's state and lag; 1 when any is failing or stalled, or lags more than maxLagSeconds. */
export async function runStatus(api: AdminReader, io: ReadIo, options: { json: boolean; maxLagSeconds: number }): Promise<number> {
  const routes = await api.get<RouteStatus[]>('/api/status');
  io.out(options.json ? JSON.stringify(routes, null, 2) : formatStatus(routes, options.maxLagSeconds));
  return routes.some((route) => unhealthy(route, options.maxLagSeconds) !== null) ? UNHEALTHY : HEALTHY;
}

export async function runRoutes(api: AdminReader, io: ReadIo, options: { json: boolean }): Promise<number> {
  const routes = await api.get<RouteSummary[]>('/api/routes');
  io.out(options.json ? JSON.stringify(routes, null, 2) : formatRoutes(routes));
  return HEALTHY;
}

/** The route's open and retrying dead letters, oldest first (the admin's first page). */
export async function runDeadLetters(api: AdminReader, io: ReadIo, route: string, options: { json: boolean }): Promise<number> {
  const page = await api.get<{ items: DeadLetterSummary[] }>(`/api/routes/${encodeURIComponent(route)}/dead-letters`);
  io.out(options.json ? JSON.stringify(page.items, null, 2) : formatDeadLetters(route, page.items));
  return HEALTHY;
}

/** How often wait-caught-up asks. */
const WAIT_POLL_MS = 500;

/**
 * `wait-caught-up <route>`: until the route has applied every change its
 * source's outbox holds (lag 0), or the timeout: 0 caught up, 1 not in time
 * (with where it stands).
 */
export async function runWaitCaughtUp(api: AdminReader, io: ReadIo, route: string, options: { json: boolean; timeoutSeconds: number; now?: () => number }): Promise<number> {
  const now = options.now ?? Date.now;
  const giveUpAt = now() + options.timeoutSeconds * 1000;
  for (;;) {
    const status = await api.get<RouteStatus>(`/api/routes/${encodeURIComponent(route)}/status`);
    const caughtUp = status.lag.error === null && status.lag.changes === 0;
    if (caughtUp || now() >= giveUpAt) {
      if (options.json) io.out(JSON.stringify({ route, caughtUp, state: status.state, lag: status.lag }, null, 2));
      else if (caughtUp) io.out(`${route}: caught up`);
      else io.err(`tributary: ${route} did not catch up within ${options.timeoutSeconds} s: ${status.state}, lag ${status.lag.changes ?? '?'} changes${status.stateReason ? ` (${status.stateReason})` : ''}`);
      return caughtUp ? HEALTHY : UNHEALTHY;
    }
    await io.sleep(WAIT_POLL_MS);
  }
}

interface WaitAnswer {
  applied: boolean;
  routes: Array<{ route: string; watermark: number; applied: boolean; status?: { state: string; stateReason: string | null; lag: { changes: number | null } } }>;
}

/**
 * `wait <source> <token>`: read-your-writes from a script (POST /api/wait):
 * 0 once the routes have applied the token, 1 when the timeout passed first
 * (with each late route's state), 2 error.
 */
export async function runWait(
  api: Pick<AdminApi, 'post'>,
  io: ReadIo,
  request: { source: string; token: number; routes?: string[]; target?: string; timeoutSeconds: number; json: boolean },
): Promise<number> {
  const { source, token, routes, target, timeoutSeconds, json } = request;
  const answer = await api.post<WaitAnswer>('/api/wait', { source, token, ...(routes ? { routes } : { target }), timeoutMs: timeoutSeconds * 1000 }, [408]);
  if (json) io.out(JSON.stringify(answer.body, null, 2));
  else if (answer.body.applied) io.out(`applied: ${answer.body.routes.map((r) => r.route).join(', ')} (token ${token})`);
  else {
    for (const late of answer.body.routes.filter((r) => !r.applied)) {
      io.err(`tributary: ${late.route} has not applied token ${token} within ${timeoutSeconds} s: at ${late.watermark}, ${late.status?.state ?? 'state unknown'}${late.status?.stateReason ? ` (${late.status.stateReason})` : ''}`);
    }
  }
  return answer.body.applied ? HEALTHY : UNHEALTHY;
}

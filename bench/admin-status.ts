import { randomBytes } from 'node:crypto';
import { freePort } from '../libs/testing/src/redis-server';
import { AppProcess, Cleanup, sleep, startApp } from './support';

/**
 * The admin app as an operator reaches it: `GET /api/status` with the
 * token. The bench records what it says about each route to compare it with
 * what the route is measured to be doing (invariant 9: never `running`
 * while its lag grows).
 */
export interface RouteStateReading {
  route: string;
  state: string;
  lagChanges: number | null;
  lagSeconds: number | null;
  lastError: string | null;
}

export interface AdminApp {
  app: AppProcess;
  readStates(): Promise<RouteStateReading[]>;
}

/** Starts the admin on a free port with a fresh token and waits until /api/status answers. */
export async function startAdmin(env: Record<string, string>, nodeArgs: readonly string[], cleanup: Cleanup): Promise<AdminApp> {
  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const app = startApp('admin', { ...env, ADMIN_PORT: String(port), ADMIN_TOKEN: token }, nodeArgs, cleanup);
  const readStates = () => readRouteStates(port, token);
  const started = performance.now();
  for (;;) {
    if (app.exited()) throw new Error(`admin exited while starting:\n${app.output()}`);
    try {
      await readStates();
      return { app, readStates };
    } catch (error) {
      if (performance.now() - started > 60_000) throw new Error(`admin did not answer within 60 s: ${(error as Error).message}`);
      await sleep(250);
    }
  }
}

async function readRouteStates(port: number, token: string): Promise<RouteStateReading[]> {
  const response = await fetch(`http://127.0.0.1:${port}/api/status`, {
    headers: { authorization: `Bearer ${token}` },
    // A hung admin must not hold up the run: a missed reading is logged and the next one comes.
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`GET /api/status answered ${response.status}`);
  const body: unknown = await response.json();
  if (!Array.isArray(body)) throw new Error('GET /api/status did not answer a list');
  return body.map((entry: unknown) => {
    const route = record(entry);
    const lag = record(route.lag);
    return {
      route: String(route.route),
      state: String(route.state),
      lagChanges: typeof lag.changes === 'number' ? lag.changes : null,
      lagSeconds: typeof lag.seconds === 'number' ? lag.seconds : null,
      lastError: typeof route.lastError === 'string' ? route.lastError : null,
    };
  });
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

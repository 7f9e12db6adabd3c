import { parseCommand } from './cli';
import { runStatus, runWait, runWaitCaughtUp } from './admin-commands';
import { formatRoutes, formatStatus, RouteStatus } from './status-report';

const route = (over: Partial<RouteStatus>): RouteStatus => ({
  route: 'orders-pg', source: 'shop', table: 'orders', target: 'pg', targetTable: 'orders', state: 'running', stateReason: null, lastError: null,
  lag: { changes: 0, seconds: 0, capped: false, error: null }, throughput: { changesPerSecond: 12.5 }, deadLetters: { open: 0, retrying: 0 }, ...over,
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (text: string) => out.push(text), err: (text: string) => err.push(text), sleep: async () => undefined } };
}

/** A fake admin API answering each path from a list of answers, one per call. */
function api(answers: Record<string, unknown[]>) {
  return { get: async <T>(path: string): Promise<T> => (answers[path].length > 1 ? answers[path].shift() : answers[path][0]) as T };
}

describe('tributary status, routes, dead-letters, wait-caught-up', () => {
  it('parses the read commands and their options', () => {
    expect(parseCommand(['status'])).toEqual({ name: 'status', json: false, maxLagSeconds: 60 });
    expect(parseCommand(['status', '--max-lag', '5', '--json'])).toEqual({ name: 'status', json: true, maxLagSeconds: 5 });
    expect(parseCommand(['routes', '--json'])).toEqual({ name: 'routes', json: true });
    expect(parseCommand(['dead-letters', 'orders-pg'])).toEqual({ name: 'dead-letters', route: 'orders-pg', json: false });
    expect(parseCommand(['wait-caught-up', 'orders-pg', '--timeout', '30'])).toEqual({ name: 'wait-caught-up', route: 'orders-pg', json: false, timeoutSeconds: 30 });
    expect(() => parseCommand(['status', '--max-lag', 'soon'])).toThrow('--max-lag takes a whole number of seconds, not "soon"');
    expect(() => parseCommand(['status', 'orders-pg'])).toThrow('unexpected argument "orders-pg"');
    expect(() => parseCommand(['routes', '--repair'])).toThrow('routes does not take --repair');
    expect(() => parseCommand(['dead-letters'])).toThrow('dead-letters needs a route id');
    expect(() => parseCommand(['verify', 'a', '--timeout', '3'])).toThrow('verify takes neither --max-lag nor --timeout');
    expect(parseCommand(['wait', 'shop', '812', '--routes', 'orders-pg, items-pg'])).toEqual({
      name: 'wait', source: 'shop', token: 812, routes: ['orders-pg', 'items-pg'], json: false, timeoutSeconds: 10,
    });
    expect(parseCommand(['wait', 'shop', '812', '--target', 'pg', '--timeout', '30', '--json'])).toEqual({ name: 'wait', source: 'shop', token: 812, target: 'pg', json: true, timeoutSeconds: 30 });
    expect(() => parseCommand(['wait', 'shop', '812'])).toThrow('wait takes --routes or --target (one of them)');
    expect(() => parseCommand(['wait', 'shop', 'latest', '--target', 'pg'])).toThrow('the token is a whole number');
    expect(() => parseCommand(['wait', 'shop', '1', '--target', 'pg', '--timeout', '90'])).toThrow('--timeout is at most 60 seconds for wait');
    expect(() => parseCommand(['status', '--routes', 'a'])).toThrow('status does not take --routes');
  });

  it('prints one line per route and says why an unhealthy one is', () => {
    const text = formatStatus(
      [route({}), route({ route: 'items-pg', state: 'failing', stateReason: 'retrying since the last error: connect ECONNREFUSED', deadLetters: { open: 2, retrying: 0 } })],
      60,
    );
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^ROUTE\s+STATE\s+FROM → TO\s+LAG\s+AGE\s+RATE\s+DEAD LETTERS$/);
    expect(lines[1]).toMatch(/^orders-pg\s+running\s+shop\.orders → pg\.orders\s+0\s+0 s\s+13\/s\s+0$/);
    expect(lines[2]).toMatch(/^items-pg\s+failing\s+.*\s+2$/);
    expect(lines[3]).toBe('  items-pg is failing: retrying since the last error: connect ECONNREFUSED');
  });

  it('lists routes with their state and partitions', () => {
    const lines = formatRoutes([
      { id: 'orders-pg', sourceId: 'shop', table: 'orders', targetId: 'pg', targetTable: 'orders', enabled: true, partitions: 4 },
      { id: 'items-pg', sourceId: 'shop', table: 'items', targetId: 'pg', targetTable: 'items', enabled: false },
    ]).split('\n');
    expect(lines[0]).toMatch(/^ROUTE\s+FROM → TO\s+ENABLED\s+PARTITIONS$/);
    expect(lines[1]).toMatch(/^orders-pg\s+shop\.orders → pg\.orders\s+yes\s+4$/);
    expect(lines[2]).toMatch(/^items-pg\s+shop\.items → pg\.items\s+paused\s+1$/);
  });

  it('exits 0 when every route is healthy, 1 when one fails, stalls or lags past --max-lag', async () => {
    const healthy = io();
    expect(await runStatus(api({ '/api/status': [[route({})]] }), healthy.io, { json: false, maxLagSeconds: 60 })).toBe(0);
    for (const sick of [route({ state: 'stalled', stateReason: 'nothing applied for 30 s' }), route({ state: 'lagging', lag: { changes: 500, seconds: 90, capped: false, error: null } })]) {
      const out = io();
      expect(await runStatus(api({ '/api/status': [[route({ route: 'ok' }), sick]] }), out.io, { json: false, maxLagSeconds: 60 })).toBe(1);
    }
    const json = io();
    await runStatus(api({ '/api/status': [[route({})]] }), json.io, { json: true, maxLagSeconds: 60 });
    expect(JSON.parse(json.out[0])).toEqual([route({})]);
  });

  it('waits until the route has no lag, or says where it stands when time is up', async () => {
    const path = '/api/routes/orders-pg/status';
    const behind = route({ lag: { changes: 40, seconds: 2, capped: false, error: null } });
    const caught = io();
    expect(await runWaitCaughtUp(api({ [path]: [behind, behind, route({})] }), caught.io, 'orders-pg', { json: false, timeoutSeconds: 60 })).toBe(0);
    expect(caught.out).toEqual(['orders-pg: caught up']);

    let clock = 0;
    const late = io();
    late.io.sleep = async () => void (clock += 500);
    const stuck = route({ state: 'failing', stateReason: 'the source cannot be read: ECONNREFUSED', lag: { changes: null, seconds: null, capped: false, error: 'ECONNREFUSED' } });
    expect(await runWaitCaughtUp(api({ [path]: [stuck] }), late.io, 'orders-pg', { json: false, timeoutSeconds: 2, now: () => clock })).toBe(1);
    expect(late.err).toEqual(['tributary: orders-pg did not catch up within 2 s: failing, lag ? changes (the source cannot be read: ECONNREFUSED)']);
  });

  it('wait: exit 0 once applied, 1 with each late route when the admin answers 408', async () => {
    const posted: unknown[] = [];
    const answering = (status: number, body: unknown) => ({
      post: async <T>(_path: string, request: unknown) => {
        posted.push(request);
        return { status, body: body as T };
      },
    });
    const ok = io();
    const applied = { applied: true, routes: [{ route: 'orders-pg', watermark: 900, applied: true }] };
    expect(await runWait(answering(200, applied), ok.io, { source: 'shop', token: 812, routes: ['orders-pg'], timeoutSeconds: 5, json: false })).toBe(0);
    expect(ok.out).toEqual(['applied: orders-pg (token 812)']);
    expect(posted[0]).toEqual({ source: 'shop', token: 812, routes: ['orders-pg'], timeoutMs: 5000 });

    const late = io();
    const notYet = { applied: false, routes: [{ route: 'orders-pg', watermark: 700, applied: false, status: { state: 'failing', stateReason: 'retrying since the last error: down', lag: { changes: 3 } } }] };
    expect(await runWait(answering(408, notYet), late.io, { source: 'shop', token: 812, target: 'pg', timeoutSeconds: 5, json: false })).toBe(1);
    expect(late.err).toEqual(['tributary: orders-pg has not applied token 812 within 5 s: at 700, failing (retrying since the last error: down)']);
  });
});

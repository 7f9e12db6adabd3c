import { randomBytes } from 'node:crypto';
import { CatalogRepository } from '@tributary/control';
import {
  AppProcess,
  createMysqlDatabase,
  deleteRedisPrefix,
  freePort,
  startApp,
  TEST_MYSQL_URL,
  TEST_REDIS_URL,
  TestDatabase,
  sleep,
  uniqueName,
  waitFor,
} from '@tributary/testing';

/**
 * The admin's HTTP surface is closed by default (invariant 10), proven over
 * real HTTP against the compiled apps: every protected path, every way in,
 * and the token policy at start.
 */

const TOKEN = `it-token-${randomBytes(12).toString('hex')}`;
const basic = (password: string) => `Basic ${Buffer.from(`someone:${password}`).toString('base64')}`;

/** Everything any admin answered, to prove the token never comes back out. */
const seen: string[] = [];

async function call(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${base}${path}`, { redirect: 'manual', ...init });
  const text = await response.text();
  seen.push(text, JSON.stringify([...response.headers]));
  return { status: response.status, headers: response.headers, text };
}

async function waitForHealth(base: string, app: AppProcess): Promise<void> {
  await waitFor(
    async () => {
      if (app.child.exitCode !== null) throw new Error(`${app.name} exited ${app.child.exitCode}:\n${app.output()}`);
      return (await fetch(`${base}/health`)).status === 200;
    },
    { timeoutMs: 30_000, what: `${app.name} /health at ${base}` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${app.output()}`);
  });
}

function exited(app: AppProcess, timeoutMs = 30_000): Promise<number | null> {
  return waitFor(async () => app.child.exitCode !== null || app.child.signalCode !== null, { timeoutMs, what: `${app.name} to exit` }).then(
    () => app.child.exitCode,
  );
}

describe('admin authentication (compiled admin app, real MariaDB and Redis)', () => {
  let control: TestDatabase;
  let prefix: string;
  let env: Record<string, string>;
  const apps: AppProcess[] = [];
  let base: string;

  function start(app: 'admin' | 'relay' | 'worker', extra: Record<string, string>): AppProcess {
    const handle = startApp(app, { ...env, ...extra });
    apps.push(handle);
    return handle;
  }

  beforeAll(async () => {
    control = await createMysqlDatabase('trib_auth');
    prefix = uniqueName('trib_auth');
    env = {
      CONTROL_DATABASE_URL: control.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'info',
      CONFIG_REFRESH_MS: '200',
    };
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const admin = start('admin', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN });
    await waitForHealth(base, admin);
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.kill('SIGKILL')));
    await deleteRedisPrefix(TEST_REDIS_URL, prefix).catch(() => undefined);
    await control?.drop();
  });

  describe.each(['/api/routes', '/api/no-such-thing', '/docs', '/docs-json', '/queues', '/queues/api/queues'])('%s', (path) => {
    const browser = !path.startsWith('/api');

    it('answers 401 without credentials, with a challenge the client understands', async () => {
      const { status, headers, text } = await call(base, path);
      expect(status).toBe(401);
      expect(headers.get('www-authenticate')).toBe(browser ? 'Basic realm="Tributary", charset="UTF-8"' : 'Bearer realm="Tributary"');
      expect(JSON.parse(text)).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('answers 403 to a wrong bearer token and to a wrong Basic password', async () => {
      for (const authorization of ['Bearer not-the-token-at-all', basic('not-the-token-at-all'), basic(TOKEN.slice(0, -1))]) {
        const { status, text } = await call(base, path, { headers: { authorization } });
        expect(status).toBe(403);
        expect(JSON.parse(text)).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      }
    });

    it('opens with the token as Bearer or as the Basic password', async () => {
      for (const authorization of [`Bearer ${TOKEN}`, basic(TOKEN)]) {
        const { status } = await call(base, path, { headers: { authorization } });
        expect([401, 403]).not.toContain(status);
        if (path !== '/api/no-such-thing' && path !== '/api/routes') expect(status).toBe(200);
      }
    });
  });

  it('serves the OpenAPI document with the bearer scheme declared', async () => {
    const { status, text } = await call(base, '/docs-json', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(status).toBe(200);
    const document = JSON.parse(text) as { components: { securitySchemes: Record<string, { scheme: string }> }; security: unknown[] };
    expect(document.components.securitySchemes.bearer.scheme).toBe('bearer');
    expect(document.security).toEqual([{ bearer: [] }]);
  });

  it('signs a browser in with a cookie that is not the token, and out again', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const loginPage = await call(base, '/login');
    expect(loginPage.status).toBe(200);
    expect(loginPage.text).toContain('name="token"');

    const wrong = await call(base, '/login', { method: 'POST', headers: form, body: 'token=not-the-token-at-all' });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.getSetCookie()).toEqual([]);

    const right = await call(base, '/login', { method: 'POST', headers: form, body: `token=${encodeURIComponent(TOKEN)}&next=%2Fdocs` });
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/docs');
    const [setCookie] = right.headers.getSetCookie();
    expect(setCookie).toMatch(/^tributary_session=[^;]+;/);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(';')[0];

    for (const path of ['/queues', '/docs', '/queues/api/queues']) {
      expect((await call(base, path, { headers: { cookie } })).status).toBe(200);
    }
    const tampered = `${cookie.slice(0, -1)}${cookie.endsWith('A') ? 'B' : 'A'}`;
    expect((await call(base, '/queues', { headers: { cookie: tampered } })).status).toBe(403);

    const json = await call(base, '/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
    expect(json.status).toBe(204);
    expect(json.headers.getSetCookie()[0]).toMatch(/HttpOnly/);

    const logout = await call(base, '/logout', { method: 'POST', headers: { cookie } });
    expect(logout.status).toBe(303);
    expect(logout.headers.getSetCookie()[0]).toMatch(/^tributary_session=;.*Expires=Thu, 01 Jan 1970/);
    // Signed out means ended: the cookie no longer works, even if a copy of it was kept.
    const after = await call(base, '/queues/api/queues', { headers: { cookie } });
    expect({ status: after.status, message: JSON.parse(after.text).message }).toEqual({ status: 403, message: expect.stringContaining('signed out') });
    // Another session (the JSON sign-in above) lives on.
    const other = json.headers.getSetCookie()[0].split(';')[0];
    expect((await call(base, '/queues/api/queues', { headers: { cookie: other } })).status).toBe(200);
    // If Redis loses the open sessions (a restart without persistence), the cookies stop working instead of
    // every signed-out one working again: this test's keys are removed, as FLUSHALL would.
    await deleteRedisPrefix(TEST_REDIS_URL, `${prefix}:admin:session`);
    const lost = await call(base, '/queues/api/queues', { headers: { cookie: other } });
    expect({ status: lost.status, message: JSON.parse(lost.text).message }).toEqual({ status: 403, message: expect.stringContaining('sign in again') });
  });

  it('refuses a state-changing request another site makes with the browser credentials', async () => {
    const response = await call(base, '/queues/api/queues/pause', {
      method: 'PUT',
      headers: { authorization: basic(TOKEN), origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(response.status).toBe(403);
  });

  it('slows down token guessing: after 5 wrong tokens an address waits 1 s, 2 s, … (429, Retry-After), then the right token works', async () => {
    const wrong = { authorization: 'Bearer guess-guess-guess-guess-guess' };
    for (let i = 0; i < 6; i++) expect((await call(base, '/api/routes', { headers: wrong })).status).toBe(403);
    const blocked = await call(base, '/api/routes', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect({ status: blocked.status, retryAfter: blocked.headers.get('retry-after') }).toEqual({ status: 429, retryAfter: '1' });
    expect(JSON.parse(blocked.text)).toMatchObject({ statusCode: 429, error: 'Too Many Requests', message: expect.stringMatching(/too many wrong tokens from this address/) });
    const login = await call(base, '/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
    expect(login.status).toBe(429);
    await sleep(1_100);
    expect((await call(base, '/api/routes', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    // The right token cleared the address: the next mistake is a plain 403 again.
    expect((await call(base, '/api/routes', { headers: wrong })).status).toBe(403);
    expect((await call(base, '/api/routes', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it("refuses the read-only dashboard's writes with 405 instead of pretending (pause all answered 200 and paused nothing)", async () => {
    for (const [method, path] of [
      ['PUT', '/queues/api/queues/pause'],
      ['PUT', '/queues/api/queues/resume'],
      ['POST', '/queues/api/queues/route%3Ax/add'],
    ]) {
      const response = await call(base, path, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      expect({ path, status: response.status, allow: response.headers.get('allow') }).toEqual({ path, status: 405, allow: 'GET, HEAD' });
      expect(JSON.parse(response.text).message).toMatch(/^the queue dashboard is read-only: pause or resume a route with POST/);
    }
  });

  it('sends anti-framing, no-sniff and referrer headers on every admin answer', async () => {
    for (const [path, headers] of [
      ['/api/routes', { authorization: `Bearer ${TOKEN}` }],
      ['/queues', { authorization: `Bearer ${TOKEN}` }],
      ['/docs', { authorization: `Bearer ${TOKEN}` }],
      ['/api/routes', {}],
    ] as Array<[string, Record<string, string>]>) {
      const response = await call(base, path, { headers });
      expect({
        path,
        frame: response.headers.get('x-frame-options'),
        sniff: response.headers.get('x-content-type-options'),
        referrer: response.headers.get('referrer-policy'),
        csp: response.headers.get('content-security-policy'),
      }).toEqual({ path, frame: 'DENY', sniff: 'nosniff', referrer: 'no-referrer', csp: expect.stringContaining("frame-ancestors 'none'") });
    }
  });

  it('answers health and metrics without a token, with tributary_ metrics', async () => {
    expect((await call(base, '/health')).status).toBe(200);
    expect((await call(base, '/health/live')).status).toBe(200);
    const metrics = await call(base, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^tributary_\w+/m);
  });

  it('answers a malformed JSON body with a clear 400, and bad fields with their names', async () => {
    const malformed = await call(base, '/api/routes', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"id": "r1",',
    });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/not valid JSON/) });

    const invalid = await call(base, '/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 42, extra: 1 }) });
    expect(invalid.status).toBe(400);
    const body = JSON.parse(invalid.text) as { details: Array<{ field: string }> };
    expect(body.details.map((detail) => detail.field).sort()).toEqual(expect.arrayContaining(['extra', 'token']));
  });

  it("shows every source's queue on the dashboard, naming its routes, following configuration changes", async () => {
    const catalog = new CatalogRepository(control.knex);
    await catalog.upsertSource({ id: 'src', url: 'mysql://root@127.0.0.1:3306/none' });
    await catalog.upsertTarget({ id: 'pg', kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/none', options: {} });
    await catalog.upsertRoute({ id: 'orders-pg', sourceId: 'src', table: 'orders', targetId: 'pg', targetTable: 'orders', enabled: true });
    const shown = async () => {
      const { text } = await call(base, '/queues/api/queues', { headers: { authorization: `Bearer ${TOKEN}` } });
      return (JSON.parse(text) as { queues: Array<{ name: string; readOnlyMode: boolean; description?: string }> }).queues;
    };
    const queues = await waitFor(async () => {
      const list = await shown();
      return list.length === 1 && list[0].description?.includes('orders-pg') ? list : null;
    }, { timeoutMs: 10_000, what: 'the new route on the dashboard' });
    expect(queues[0]).toMatchObject({ name: '{source-src}', readOnlyMode: true, description: 'orders-pg: src.orders → pg.orders' });
    await control.knex('tributary_routes').where({ id: 'orders-pg' }).delete();
    await waitFor(async () => (await shown())[0]?.description === 'no routes', { timeoutMs: 10_000, what: 'the removed route to leave the description' });
    await control.knex('tributary_sources').where({ id: 'src' }).delete();
    await waitFor(async () => (await shown()).length === 0, { timeoutMs: 10_000, what: 'the removed source to leave the dashboard' });
  });

  it('never returns the token, and never logs it or an Authorization header', () => {
    expect(seen.length).toBeGreaterThan(50);
    for (const text of seen) expect(text).not.toContain(TOKEN);
    const logs = apps[0].output();
    expect(logs).toContain('"http request"');
    expect(logs).not.toContain(TOKEN);
    expect(logs.toLowerCase()).not.toContain('authorization');
  });

  describe('token policy at start', () => {
    it('refuses to start on a non-loopback interface without a token, before touching the database', async () => {
      const untouched = uniqueName('trib_auth_never');
      const admin = start('admin', {
        CONTROL_DATABASE_URL: `${TEST_MYSQL_URL}/${untouched}`,
        ADMIN_HOST: '0.0.0.0',
        ADMIN_PORT: String(await freePort()),
      });
      expect(await exited(admin)).not.toBe(0);
      expect(admin.output()).toMatch(/ADMIN_TOKEN is required when ADMIN_HOST \(0\.0\.0\.0\) is not a loopback address/);
      const [rows] = await control.knex.raw('SHOW DATABASES LIKE ?', [untouched]);
      expect(rows).toEqual([]);
    });

    it('on loopback without a token, prints a generated token once, which then works', async () => {
      const port = await freePort();
      const local = `http://127.0.0.1:${port}`;
      const admin = start('admin', { ADMIN_PORT: String(port) });
      await waitForHealth(local, admin);
      const generated = await waitFor(async () => /generated an admin token[^\n]*\n\n {4}(\S+)\n/.exec(admin.output())?.[1], {
        what: 'the generated token on stdout',
      });
      expect(admin.output().split(generated).length - 1).toBe(1);
      expect((await call(local, '/queues')).status).toBe(401);
      expect((await call(local, '/queues', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(403);
      expect((await call(local, '/queues', { headers: { authorization: `Bearer ${generated}` } })).status).toBe(200);
      expect((await call(local, '/docs', { headers: { authorization: basic(generated) } })).status).toBe(200);
      expect(await admin.kill('SIGTERM')).toBe(0);
    });
  });

  describe('behind a TLS proxy (ADMIN_TRUST_PROXY)', () => {
    it('marks the session cookie Secure and counts wrong tokens per client, as the proxy reports them', async () => {
      const port = await freePort();
      const proxied = `http://127.0.0.1:${port}`;
      const admin = start('admin', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN, ADMIN_TRUST_PROXY: 'loopback' });
      await waitForHealth(proxied, admin);
      const viaTls = { 'x-forwarded-proto': 'https', 'content-type': 'application/json' };
      const signIn = await call(proxied, '/login', { method: 'POST', headers: viaTls, body: JSON.stringify({ token: TOKEN }) });
      expect(signIn.status).toBe(204);
      expect(signIn.headers.getSetCookie()[0]).toMatch(/; Secure/);
      // One client guessing is blocked; another behind the same proxy is not.
      const from = (client: string, token: string) => call(proxied, '/api/routes', { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client } });
      for (let i = 0; i < 6; i++) expect((await from('203.0.113.7', 'guess-guess-guess-guess')).status).toBe(403);
      expect((await from('203.0.113.7', TOKEN)).status).toBe(429);
      expect((await from('203.0.113.8', TOKEN)).status).toBe(200);
      expect(await admin.kill('SIGTERM')).toBe(0);
    });
  });

  describe('relay and worker', () => {
    it.each(['relay', 'worker'] as const)('%s serves /health and /metrics on its own port, and nothing else', async (role) => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const app = start(role, { [role === 'relay' ? 'RELAY_HTTP_PORT' : 'WORKER_HTTP_PORT']: String(port) });
      await waitForHealth(url, app);
      const health = JSON.parse((await call(url, '/health')).text) as { checks: Record<string, string> };
      expect(health.checks).toEqual({ controlDatabase: 'ok', redis: 'ok' });
      expect((await call(url, '/metrics')).text).toMatch(/^tributary_\w+/m);
      expect((await call(url, '/api/routes')).status).toBe(404);
      expect((await call(url, '/queues')).status).toBe(404);
      expect(await app.kill('SIGTERM')).toBe(0);
    });

    it('keeps a second relay running when its health port is taken', async () => {
      const port = await freePort();
      const first = start('relay', { RELAY_HTTP_PORT: String(port) });
      await waitForHealth(`http://127.0.0.1:${port}`, first);
      const second = start('relay', { RELAY_HTTP_PORT: String(port) });
      await waitFor(async () => second.output().includes('WITHOUT /health and /metrics'), { what: 'the second relay to report the taken port' });
      expect(second.child.exitCode).toBeNull();
      expect(await second.kill('SIGTERM')).toBe(0);
      expect(await first.kill('SIGTERM')).toBe(0);
    });
  });
});

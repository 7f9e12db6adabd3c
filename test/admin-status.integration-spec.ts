import { randomBytes } from 'node:crypto';
import { DeadLetterRepository } from '@tributary/control';
import { adminClient, AppProcess, createPipeline, freePort, ITEMS_DDL, Pipeline, runCliCommand, sleep, waitFor } from '@tributary/testing';

/**
 * The status and dead-letter API over real HTTP, against the compiled
 * all-in-one app (relay, worker and admin in one process), a MariaDB source
 * and a PostgreSQL target that refuses negative amounts (a CHECK the source
 * does not have): refused rows become dead letters; they are listed,
 * discarded with a record, retried through the normal apply path.
 */

interface RouteStatus {
  route: string;
  state: string;
  lastError: string | null;
  lastAppliedSeq: number;
  watermark: number;
  appliedTotal: number;
  lag: { changes: number | null; seconds: number | null; capped: boolean; error: string | null };
  throughput: { changesPerSecond: number; windowSeconds: number };
  deadLetters: { open: number; retrying: number };
  partitions: unknown[] | null;
}

interface Letter {
  id: number;
  seq: number;
  status: string;
  reason: string;
  code: string | null;
  attempts: number;
  key: Record<string, unknown>;
  resolvedBy: string | null;
  resolutionNote: string | null;
  change?: { seq: number; after: string | null };
}

const ROUTE = 'items-pg';

/** A route's sample of one metric in a Prometheus scrape, or null if the series is absent. */
function sample(metrics: string, name: string, labels: string): number | null {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : null;
}
const TOKEN = randomBytes(16).toString('hex'); // 32 characters

describe('admin: route status and dead letters', () => {
  let pipeline: Pipeline;
  let app: AppProcess;
  let port: number;
  let letters: DeadLetterRepository;

  const call = adminClient(() => `http://127.0.0.1:${port}`, TOKEN);


  const status = async (route = ROUTE) => (await call<RouteStatus>('GET', `/api/routes/${route}/status`)).json;
  const letter = async (id: number) => (await call<Letter>('GET', `/api/routes/${ROUTE}/dead-letters/${id}`)).json;
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();

  async function startApp(): Promise<void> {
    app = pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/live`)).ok, { what: 'the admin to listen', timeoutMs: 30_000 });
  }

  beforeAll(async () => {
    pipeline = await createPipeline();
    const { source, postgres, setup } = pipeline;
    await source.knex.raw(ITEMS_DDL);
    // The target has a rule the source does not: negative amounts are refused there.
    await postgres.knex.raw(
      'CREATE TABLE items (id integer PRIMARY KEY, grp integer NOT NULL, name varchar(64) NOT NULL, amount numeric(12,2) CHECK (amount >= 0), noted timestamp(6), payload jsonb)',
    );
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 'items');
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: postgres.url, options: {} });
    await setup.addRoute({ id: ROUTE, sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items', enabled: true });
    letters = new DeadLetterRepository(pipeline.control.knex);
    port = await freePort();
    await startApp();
  });

  afterAll(async () => {
    await pipeline?.teardown();
  });

  it('lists refused rows as dead letters with the reason, and reports the route caught up', async () => {
    await pipeline.source.knex.raw(
      "INSERT INTO items VALUES (1, 0, 'ok', 1.00, NOW(6), NULL), (2, 0, 'negative', -2.00, NOW(6), NULL), (3, 0, 'ok', 3.00, NOW(6), NULL), (4, 0, 'negative too', -4.00, NOW(6), NULL), (5, 0, 'ok', 5.00, NOW(6), NULL)",
    );
    await pipeline.waitForCatchUp(ROUTE);

    const page = await call<{ items: Letter[]; nextAfterId: number | null }>('GET', `/api/routes/${ROUTE}/dead-letters`);
    expect(page.status).toBe(200);
    expect(page.json.items.map((l) => l.key)).toEqual([{ id: 2 }, { id: 4 }]);
    for (const l of page.json.items) {
      expect(l).toMatchObject({ status: 'open', code: '23514', attempts: 1 });
      expect(l.reason).toMatch(/check constraint/);
    }
    expect(page.json.nextAfterId).toBeNull();
    const one = await letter(page.json.items[0].id);
    expect(one.change?.after).toContain('"negative"');

    const [rows] = await pipeline.source.knex.raw('SELECT MAX(seq) AS m FROM _tributary_outbox');
    const maxSeq = Number((rows as Array<{ m: number }>)[0].m);
    const route = await status();
    expect(route).toMatchObject({
      route: ROUTE,
      state: 'running',
      lastError: null,
      lastAppliedSeq: maxSeq,
      appliedTotal: 3,
      lag: { changes: 0, seconds: 0, capped: false, error: null },
      deadLetters: { open: 2, retrying: 0 },
    });
    expect(route.watermark).toBeGreaterThanOrEqual(maxSeq);
    const all = await call<RouteStatus[]>('GET', '/api/status');
    expect(all.json.map((r) => r.route)).toEqual([ROUTE]);
    await waitFor(async () => sample(await scrape(), 'tributary_dead_letters_open', 'route="items-pg"') === 2, { what: 'the open dead-letter gauge' });
    expect(sample(await scrape(), 'tributary_changes_captured_total', 'source="src",table="items"')).toBe(5);
  });

  it('discards a letter with who and why, keeps it listed, and refuses to retry it', async () => {
    const [negative] = await letters.list(ROUTE, { status: 'open', limit: 1 });
    const discarded = await call<Letter>('POST', `/api/routes/${ROUTE}/dead-letters/${negative.id}/discard`, {
      actor: 'alice',
      reason: 'entered by mistake; fixed at the source',
    });
    expect(discarded.status).toBe(200);
    expect(discarded.json).toMatchObject({ status: 'discarded', resolvedBy: 'alice', resolutionNote: 'entered by mistake; fixed at the source' });

    const listed = await call<{ items: Letter[] }>('GET', `/api/routes/${ROUTE}/dead-letters?status=discarded`);
    expect(listed.json.items.map((l) => [l.id, l.resolvedBy])).toEqual([[negative.id, 'alice']]);
    const open = await call<{ items: Letter[] }>('GET', `/api/routes/${ROUTE}/dead-letters`);
    expect(open.json.items.map((l) => l.key)).toEqual([{ id: 4 }]);

    const retry = await call('POST', `/api/routes/${ROUTE}/dead-letters/${negative.id}/retry`);
    expect(retry.status).toBe(409);
    expect(String(retry.json.message)).toMatch(/discarded by alice/);
    expect((await call('POST', `/api/routes/${ROUTE}/dead-letters/${negative.id}/discard`, { actor: 'bob', reason: 'again' })).status).toBe(409);
  });

  it('retries a letter the target still refuses: it stays open with one more attempt', async () => {
    const [open] = await letters.list(ROUTE, { status: 'open', limit: 1 });
    const accepted = await call<{ letterIds: number[]; jobIds: string[] }>('POST', `/api/routes/${ROUTE}/dead-letters/${open.id}/retry`, {});
    expect(accepted.status).toBe(202);
    expect(accepted.json.letterIds).toEqual([open.id]);
    const after = await waitFor(
      async () => {
        const l = await letter(open.id);
        return l.status === 'open' && l.attempts === 2 ? l : null;
      },
      { what: 'the retried letter to be refused again' },
    );
    expect(after.reason).toMatch(/check constraint/);
    expect(await pipeline.postgres.knex('items').where({ id: 4 })).toEqual([]);
  });

  it('retries through the normal apply path once the cause is fixed: the row arrives, the letter is retried', async () => {
    await pipeline.postgres.knex.raw('ALTER TABLE items DROP CONSTRAINT items_amount_check');
    const accepted = await call<{ letterIds: number[] }>('POST', `/api/routes/${ROUTE}/dead-letters/retry`, { actor: 'carol' });
    expect(accepted.status).toBe(202);
    expect(accepted.json.letterIds).toHaveLength(1);
    const done = await waitFor(
      async () => {
        const l = await letter(accepted.json.letterIds[0]);
        return l.status === 'retried' ? l : null;
      },
      { what: 'the letter to be retried' },
    );
    expect(done).toMatchObject({ resolvedBy: 'carol', resolutionNote: expect.stringMatching(/applied/) });
    const [row] = await pipeline.postgres.knex('items').where({ id: 4 });
    expect(row).toMatchObject({ name: 'negative too', amount: '-4.00' });
    expect((await call('POST', `/api/routes/${ROUTE}/dead-letters/${done.id}/retry`)).status).toBe(409);
    const route = await status();
    expect(route.deadLetters).toEqual({ open: 0, retrying: 0 });
    // A retry re-applies an old change: it never moves the checkpoint or the last applied seq back.
    expect(route.lag).toMatchObject({ changes: 0, seconds: 0 });
    const metrics = await scrape();
    expect(sample(metrics, 'tributary_dead_letter_retries_total', 'route="items-pg",outcome="applied"')).toBe(1);
    expect(sample(metrics, 'tributary_dead_letter_retries_total', 'route="items-pg",outcome="refused"')).toBe(1);
    expect(sample(metrics, 'tributary_dead_letters_discarded_total', 'route="items-pg"')).toBe(1);
  });

  it('answers 401 without the token, 404 for an unknown route or letter, and 400 naming the bad field', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/api/routes/${ROUTE}/status`)).status).toBe(401);
    expect((await call('GET', '/api/routes/nope/status')).status).toBe(404);
    expect((await call('GET', '/api/routes/nope/dead-letters')).status).toBe(404);
    expect((await call('POST', '/api/routes/nope/dead-letters/retry')).status).toBe(404);
    expect((await call('GET', `/api/routes/${ROUTE}/dead-letters/999999`)).status).toBe(404);

    const noActor = await call<{ details: Array<{ field: string; message: string }> }>('POST', `/api/routes/${ROUTE}/dead-letters/1/discard`, {
      reason: 'no one',
    });
    expect(noActor.status).toBe(400);
    expect(noActor.json.details.map((d) => d.field)).toContain('actor');
    const tooMany = await call<{ details: Array<{ field: string }> }>('GET', `/api/routes/${ROUTE}/dead-letters?limit=501`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.details.map((d) => d.field)).toEqual(['limit']);
    const badStatus = await call<{ details: Array<{ field: string }> }>('GET', `/api/routes/${ROUTE}/dead-letters?status=lost`);
    expect(badStatus.json.details.map((d) => d.field)).toEqual(['status']);
    expect((await call('GET', `/api/routes/${ROUTE}/dead-letters/abc`)).status).toBe(400);
  });

  it('pages through letters with limit and afterId', async () => {
    const all = await call<{ items: Letter[] }>('GET', `/api/routes/${ROUTE}/dead-letters?status=all`);
    expect(all.json.items.map((l) => l.status).sort()).toEqual(['discarded', 'retried']);
    const first = await call<{ items: Letter[]; nextAfterId: number }>('GET', `/api/routes/${ROUTE}/dead-letters?status=all&limit=1`);
    expect(first.json.items).toHaveLength(1);
    const second = await call<{ items: Letter[] }>('GET', `/api/routes/${ROUTE}/dead-letters?status=all&limit=1&afterId=${first.json.nextAfterId}`);
    expect(second.json.items.map((l) => l.id)).toEqual([all.json.items[1].id]);
  });

  it('shows a paused route as paused with a growing backlog, in the API and in /metrics, and catches up on resume', async () => {
    await pipeline.catalog.setRouteEnabled(ROUTE, false);
    expect((await status()).state).toBe('paused');
    await sleep(1000); // the worker follows the configuration every CONFIG_REFRESH_MS
    await pipeline.source.knex.raw("INSERT INTO items VALUES (10, 0, 'while paused', 1.00, NOW(6), NULL), (11, 0, 'while paused', 1.00, NOW(6), NULL)");
    const paused = await waitFor(
      async () => {
        const s = await status();
        return s.lag.changes === 2 && (s.lag.seconds ?? 0) > 0 ? s : null;
      },
      { what: 'the backlog to show' },
    );
    expect(paused.state).toBe('paused');
    await waitFor(
      async () => {
        const metrics = await scrape();
        const seconds = sample(metrics, 'tributary_route_backlog_seconds', 'route="items-pg"') ?? 0;
        return sample(metrics, 'tributary_route_backlog_changes', 'route="items-pg"') === 2 && seconds > 0;
      },
      { what: 'the backlog gauges' },
    );
    const whilePaused = await scrape();
    expect(sample(whilePaused, 'tributary_route_state', 'route="items-pg",state="paused"')).toBe(1);
    expect(sample(whilePaused, 'tributary_route_state', 'route="items-pg",state="running"')).toBe(0);

    await pipeline.catalog.setRouteEnabled(ROUTE, true);
    const resumed = await waitFor(
      async () => {
        const s = await status();
        return s.lag.changes === 0 ? s : null;
      },
      { what: 'the route to catch up' },
    );
    expect(resumed).toMatchObject({ state: 'running', lag: { changes: 0, seconds: 0 } });
    expect(await pipeline.postgres.knex('items').whereIn('id', [10, 11])).toHaveLength(2);
    await waitFor(async () => sample(await scrape(), 'tributary_route_backlog_changes', 'route="items-pg"') === 0, { what: 'the gauge back to 0' });
    await waitFor(async () => sample(await scrape(), 'tributary_route_state', 'route="items-pg",state="running"') === 1, { what: 'the state gauge back to running' });
    expect(sample(await scrape(), 'tributary_route_state', 'route="items-pg",state="paused"')).toBe(0);
  });

  it('re-sends a retry whose job Redis lost, once it is stale', async () => {
    // A new refusal: the target gets a rule again (NOT VALID: rows already there are not checked).
    await pipeline.postgres.knex.raw('ALTER TABLE items ADD CONSTRAINT small CHECK (amount < 1000) NOT VALID');
    await pipeline.source.knex.raw("INSERT INTO items VALUES (20, 0, 'too big', 5000.00, NOW(6), NULL)");
    const refused = await waitFor(async () => (await letters.list(ROUTE, { status: 'open', limit: 10 }))[0], { what: 'a new dead letter' });
    await pipeline.postgres.knex.raw('ALTER TABLE items DROP CONSTRAINT small');
    // As if a retry had been queued an hour ago and Redis then lost the job.
    await pipeline.control.knex('tributary_dead_letters').where({ id: refused.id }).update({
      status: 'retrying',
      resolved_by: 'dave',
      resolution_note: 'retry job r1-1-n1-t0-lost',
      resolved_at: pipeline.control.knex.raw('UTC_TIMESTAMP(6) - INTERVAL 1 HOUR'), // the app's sessions are UTC
    });
    // The watchdog looks at once on start, then every minute.
    await app.kill();
    await startApp();
    const done = await waitFor(
      async () => {
        const l = await letter(refused.id);
        return l.status === 'retried' ? l : null;
      },
      { what: 'the lost retry to be sent again and applied' },
    );
    expect(done.resolvedBy).toBe('dave');
    expect(await pipeline.postgres.knex('items').where({ id: 20 })).toHaveLength(1);
  });

  it('shows a route whose target is down as failing, with the last error', async () => {
    const closed = await freePort();
    await pipeline.setup.addTarget({ id: 'down', kind: 'postgres', url: `postgres://postgres@127.0.0.1:${closed}/nowhere`, options: {} });
    await pipeline.setup.addRoute({ id: 'items-down', sourceId: 'src', table: 'items', targetId: 'down', targetTable: 'items', enabled: true });
    await pipeline.source.knex.raw("INSERT INTO items VALUES (30, 0, 'for the failing route', 1.00, NOW(6), NULL)");
    const failing = await waitFor(
      async () => {
        const s = await status('items-down');
        return s.state === 'failing' ? s : null;
      },
      { what: 'the route to fail' },
    );
    expect(failing.lastError).toMatch(/ECONNREFUSED|connect/i);
    const all = await call<RouteStatus[]>('GET', '/api/status');
    expect(all.json.map((r) => [r.route, r.state])).toEqual([
      ['items-down', 'failing'],
      [ROUTE, 'running'],
    ]);
  });

  it('answers the CLI through the admin API: status exits 1 naming the failing route; dead letters; wait-caught-up', async () => {
    const env = { TRIBUTARY_ADMIN_URL: `http://127.0.0.1:${port}`, ADMIN_TOKEN: TOKEN };
    const table = await runCliCommand(env, 'status');
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/^items-down\s+failing\s/m);
    expect(table.stdout).toMatch(new RegExp(`^${ROUTE}\\s+running\\s`, 'm'));
    expect(table.stdout).toMatch(/^ {2}items-down is failing: retrying since the last error: .*(ECONNREFUSED|connect)/im);
    const json = await runCliCommand(env, 'status', '--json');
    expect((JSON.parse(json.stdout) as RouteStatus[]).map((r) => [r.route, r.state])).toEqual([
      ['items-down', 'failing'],
      [ROUTE, 'running'],
    ]);

    const letters = JSON.parse((await runCliCommand(env, 'dead-letters', ROUTE, '--json')).stdout) as Letter[];
    const listed = await runCliCommand(env, 'dead-letters', ROUTE);
    expect(listed.code).toBe(0);
    if (letters.length === 0) expect(listed.stdout).toBe(`${ROUTE}: no dead letters\n`);
    else for (const l of letters) expect(listed.stdout).toMatch(new RegExp(`^${l.id}\\s+${l.seq}\\s+${l.status}\\s`, 'm'));

    expect(await runCliCommand(env, 'wait-caught-up', ROUTE, '--timeout', '30')).toMatchObject({ code: 0, stdout: `${ROUTE}: caught up\n` });
    const late = await runCliCommand(env, 'wait-caught-up', 'items-down', '--timeout', '1');
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/items-down did not catch up within 1 s: failing/);

    const denied = await runCliCommand({ ...env, ADMIN_TOKEN: 'wrong-token-wrong-token-wrong-token' }, 'status');
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/^tributary: 403 from the admin API/);
    const away = await runCliCommand({ TRIBUTARY_ADMIN_URL: `http://127.0.0.1:${await freePort()}/`, ADMIN_TOKEN: TOKEN }, 'routes');
    expect(away).toMatchObject({ code: 2, stderr: expect.stringMatching(/^tributary: the admin API at http:\/\/127\.0\.0\.1:\d+ did not answer: ECONNREFUSED/) });
    const withPassword = await runCliCommand({ TRIBUTARY_ADMIN_URL: `http://someone:s3cret@127.0.0.1:${port}`, ADMIN_TOKEN: TOKEN }, 'routes');
    expect(withPassword.code).toBe(2);
    expect(withPassword.stderr).toMatch(/must not carry a user or password/);
    expect(withPassword.stderr).not.toContain('s3cret');
  });

  it('gives each refused row of one copy chunk (rows sharing a seq) its own letter, and retries them all', async () => {
    // Two rows the target refuses: once as changes, then again in one chunk of a re-sync.
    await pipeline.postgres.knex.raw("ALTER TABLE items ADD CONSTRAINT items_name_check CHECK (name <> 'refused twice')");
    await pipeline.source.knex.raw("INSERT INTO items VALUES (90, 0, 'refused twice', 90.00, NOW(6), NULL), (91, 0, 'refused twice', 91.00, NOW(6), NULL)");
    await pipeline.waitForCatchUp(ROUTE);
    expect((await call('POST', `/api/routes/${ROUTE}/resync`, { actor: 'dave' })).status).toBe(202);
    await waitFor(async () => (await call<{ status: string }>('GET', `/api/routes/${ROUTE}/snapshot`)).json.status === 'done', {
      timeoutMs: 30_000,
      what: 'the re-sync to finish',
    });
    const open = (await call<{ items: Letter[] }>('GET', `/api/routes/${ROUTE}/dead-letters`)).json.items;
    expect(open.map((l) => l.key)).toEqual([{ id: 90 }, { id: 91 }, { id: 90 }, { id: 91 }]);
    for (const l of open) expect((await letter(l.id)).change?.after).toContain('"refused twice"');
    expect(open[2].seq).toBe(open[3].seq); // the chunk's rows
    expect(open[1].seq).toBeLessThan(open[2].seq);

    await pipeline.postgres.knex.raw('ALTER TABLE items DROP CONSTRAINT items_name_check');
    const accepted = await call<{ letterIds: number[] }>('POST', `/api/routes/${ROUTE}/dead-letters/retry`, { actor: 'dave' });
    expect(accepted.json.letterIds.sort()).toEqual(open.map((l) => l.id).sort());
    await waitFor(async () => (await status()).deadLetters.open + (await status()).deadLetters.retrying === 0, { what: 'every letter retried' });
    for (const l of open) expect((await letter(l.id)).status).toBe('retried');
    expect((await pipeline.postgres.knex('items').whereIn('id', [90, 91]).orderBy('id')).map((r: { name: string }) => r.name)).toEqual([
      'refused twice',
      'refused twice',
    ]);
  });

  it('takes a partitioned route over HTTP: created and re-cut, each partition in its status, a wait answered when every partition has the change, a refused row retried', async () => {
    await pipeline.postgres.knex.raw(
      'CREATE TABLE items_parts (id integer PRIMARY KEY, grp integer NOT NULL, name varchar(64) NOT NULL, amount numeric(12,2) CHECK (amount >= 0), noted timestamp(6), payload jsonb)',
    );
    const bad = await call<{ message: string }>('POST', '/api/routes', { id: 'parts-pg', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items_parts', partitions: 0 });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/partitions: must be a whole number from 1 to 64, got 0/);
    // No initial copy: it could meet the refused row too, as a second letter (a copy's rows have their own seq).
    const created = await call<{ partitions: number }>('POST', '/api/routes', {
      id: 'parts-pg',
      sourceId: 'src',
      table: 'items',
      targetId: 'pg',
      targetTable: 'items_parts',
      partitions: 2,
      initialCopy: false,
    });
    expect([created.status, created.json.partitions]).toEqual([201, 2]);
    const recut = await call<{ partitions: number }>('PATCH', '/api/routes/parts-pg', { partitions: 3 });
    expect([recut.status, recut.json.partitions]).toEqual([200, 3]);

    await pipeline.source.knex.raw("INSERT INTO items (id, grp, name, amount) VALUES (700, 1, 'p', 1), (701, 1, 'p', 1), (702, 1, 'p', 1), (703, 1, 'p', 1), (704, 1, 'p', -1)");
    const [[{ token }]] = (await pipeline.source.knex.raw('SELECT MAX(seq) AS token FROM _tributary_outbox')) as [Array<{ token: number }>];
    const wait = await call<{ applied: boolean }>('POST', '/api/wait', { source: 'src', token: Number(token), routes: ['parts-pg'], timeoutMs: 30_000 });
    expect([wait.status, wait.json.applied]).toEqual([200, true]);
    expect((await pipeline.postgres.knex('items_parts').whereIn('id', [700, 701, 702, 703])).length).toBe(4);

    const parts = (await call<{ watermark: number; partitions: Array<{ index: number; feed: string; watermark: number }> }>('GET', '/api/routes/parts-pg/status')).json;
    expect(parts.partitions.map((p) => [p.index, p.feed])).toEqual([
      [0, 'parts-pg.p0of3'],
      [1, 'parts-pg.p1of3'],
      [2, 'parts-pg.p2of3'],
    ]);
    expect(parts.watermark).toBe(Math.min(...parts.partitions.map((p) => p.watermark)));
    expect(parts.watermark).toBeGreaterThanOrEqual(Number(token));
    expect((await status()).partitions).toBeNull();

    // The refused row is the route's dead letter, whichever partition met it; a retry applies it once the cause is gone.
    const refused = (await call<{ items: Letter[] }>('GET', '/api/routes/parts-pg/dead-letters')).json.items;
    expect(refused.map((l) => l.key)).toEqual([{ id: 704 }]);
    await pipeline.postgres.knex.raw('ALTER TABLE items_parts DROP CONSTRAINT items_parts_amount_check');
    expect((await call('POST', '/api/routes/parts-pg/dead-letters/retry', { actor: 'erin' })).status).toBe(202);
    await waitFor(async () => (await pipeline.postgres.knex('items_parts').where({ id: 704 })).length === 1, { what: 'the retried row at the target' });
    expect((await call('DELETE', '/api/routes/parts-pg')).status).toBe(204);
  });

  it('keeps each route\'s state, lag and apply rate over time, across an admin restart', async () => {
    type History = { route: string; points: Array<{ at: string; state: string; lagChanges: number | null; changesPerSecond: number; watermark: number }> };
    const history = async () => (await call<History>('GET', `/api/routes/${ROUTE}/history?minutes=5`)).json;
    // Samples come every second here (5 × CONFIG_REFRESH_MS of 200 ms).
    await waitFor(async () => (await history()).points.length >= 3, { what: 'three history points', timeoutMs: 20_000 });
    const before = (await history()).points;
    expect(before.map((p) => p.at)).toEqual([...before.map((p) => p.at)].sort());
    expect(before[before.length - 1]).toMatchObject({ state: expect.any(String), watermark: expect.any(Number) });
    expect((await call<History[]>('GET', '/api/status/history?minutes=5')).json.map((h) => h.route)).toContain(ROUTE);
    expect((await call('GET', `/api/routes/${ROUTE}/history?minutes=0`)).status).toBe(400);
    expect((await call('GET', '/api/routes/nope/history')).status).toBe(404);

    await app.kill('SIGTERM');
    await startApp();
    const after = (await history()).points;
    expect(after.slice(0, before.length).map((p) => p.at)).toEqual(before.map((p) => p.at));
  });
});

import { randomBytes } from 'node:crypto';
import { adminClient, AppProcess, createMysqlDatabase, createPipeline, freePort, ITEMS_DDL, Pipeline, RawBody, sleep, TestDatabase, waitFor } from '@tributary/testing';

/**
 * The configuration API through real HTTP against the real all-in-one app
 * (relay, worker and admin in one compiled process): configure, replicate
 * and observe only through the API; bad input of every kind gets a clear
 * 4xx and changes nothing; no answer ever carries a password; configuration
 * changes reach the running workers without a restart.
 */

type Json = Record<string, unknown>;

const PASSWORD = 's3cret-pw';
const HOOK_SECRET = 'hook-s3cret-value';
const TOKEN = randomBytes(24).toString('base64url').slice(0, 32);

describe('admin configuration API: real HTTP, all-in-one app', () => {
  let pipeline: Pipeline;
  let other: TestDatabase;
  let app: AppProcess;
  let base: string;
  let pgUrl: string;
  /** Every response body this suite received: none may contain the password. */
  const seen: string[] = [];

  const call = adminClient<Json>(() => base, TOKEN, { record: (text) => seen.push(text) });

  async function expectStatus<T = Json>(method: string, path: string, status: number, body?: unknown): Promise<T> {
    const answer = await call<T>(method, path, body);
    if (answer.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${answer.status}: ${answer.text}`);
    return answer.json;
  }

  async function pgIds(): Promise<number[]> {
    const exists = await pipeline.postgres.knex.raw<{ rows: Array<{ t: string | null }> }>("SELECT to_regclass('public.items')::text AS t");
    if (!exists.rows[0].t) return [];
    return (await pipeline.postgres.knex('items').select('id').orderBy('id')).map((row: { id: number }) => Number(row.id));
  }

  async function insertItems(ids: number[]): Promise<void> {
    for (const id of ids) {
      await pipeline.source.knex.raw("INSERT INTO items (id, grp, name, amount, noted, payload) VALUES (?, 1, ?, 1.50, NOW(6), JSON_OBJECT('id', ?))", [id, `n${id}`, id]);
    }
  }

  async function triggersAt(database: TestDatabase): Promise<string[]> {
    const [rows] = (await database.knex.raw('SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME', [
      database.name,
    ])) as [Array<{ name: string }>];
    return rows.map((row) => row.name);
  }

  beforeAll(async () => {
    pipeline = await createPipeline();
    other = await createMysqlDatabase('trib_src2');
    const { source, postgres } = pipeline;
    await source.knex.raw(ITEMS_DDL);
    await source.knex.raw('CREATE TABLE nokey (a INT NULL, b VARCHAR(10) NULL)');
    await other.knex.raw(ITEMS_DDL);
    // Rows from before any route: the route's answer must say they are not copied.
    await insertItems([1, 2, 3]);
    // A table at the target whose key is not the source's.
    await postgres.knex.raw('CREATE TABLE wrongkey (id integer NOT NULL, name text NOT NULL, PRIMARY KEY (name))');
    const url = new URL(postgres.url);
    url.password = PASSWORD; // PostgreSQL's trust authentication ignores it; the API must never show it
    pgUrl = url.toString();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // The default refresh period: configuration must reach the running relay and worker at the speed users get.
    // Info level: the log scan at the end reads what an operator's log holds (request lines, warnings, errors).
    app = pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN, CONFIG_REFRESH_MS: '2000', LOG_LEVEL: 'info' });
    await waitFor(() => fetch(`${base}/health`).then((r) => r.ok).catch(() => false), { timeoutMs: 60_000, what: 'the app to answer /health' }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await pipeline?.teardown();
    await other?.drop();
  });

  it('needs the token for /api, not for /health and /metrics', async () => {
    expect((await call('GET', '/api/sources', undefined, {})).status).toBe(401);
    expect((await call('GET', '/api/sources', undefined, { authorization: 'Bearer wrong-token-wrong-token-wrong' })).status).toBe(403);
    expect((await call('POST', '/api/sources', { id: 'sneaky', url: pipeline.source.url }, {})).status).toBe(401);
    expect((await call('GET', '/health', undefined, {})).status).toBe(200);
    expect((await call('GET', '/metrics', undefined, {})).status).toBe(200);
    expect(await expectStatus('GET', '/api/sources', 200)).toEqual([]);
  });

  it('configures, replicates and observes through the API alone', async () => {
    const { source } = pipeline;
    const created = await expectStatus('POST', '/api/sources', 201, { id: 'shop', url: source.url });
    expect(created).toEqual({ id: 'shop', url: source.url, tables: [], routes: [] }); // no password in this URL to hide

    const captured = await expectStatus('PUT', '/api/sources/shop/tables/items', 201);
    expect(captured).toMatchObject({ table: 'items', key: ['id'], keyKind: 'primary', warnings: [], created: true });
    expect((captured.columns as Json[]).map((column) => column.name)).toEqual(['id', 'grp', 'name', 'amount', 'noted', 'payload']);
    expect(await expectStatus('PUT', '/api/sources/shop/tables/items', 200)).toMatchObject({ created: false });
    expect(await expectStatus('GET', '/api/sources/shop/tables', 200)).toEqual([
      expect.objectContaining({ table: 'items', installed: true, drifted: false, error: null, refresh: null, routes: [] }),
    ]);

    const target = await expectStatus('POST', '/api/targets', 201, { id: 'pg', kind: 'postgres', url: pgUrl });
    expect(target).toEqual({ id: 'pg', kind: 'postgres', url: pgUrl.replace(PASSWORD, '***'), options: {}, routes: [] });
    expect(await expectStatus('POST', '/api/targets/pg/test', 200)).toEqual({ ok: true, latencyMs: expect.any(Number) });

    // The relay already leads the source when the route arrives: rows written at once must still reach it.
    await waitFor(async () => /^tributary_relay_seq\{source="shop",kind="high"\}/m.test((await call('GET', '/metrics', undefined, {})).text), {
      timeoutMs: 20_000,
      what: 'the relay to lead source shop',
    });
    const route = await expectStatus('POST', '/api/routes', 201, { id: 'items-pg', sourceId: 'shop', table: 'items', targetId: 'pg' });
    expect(route).toEqual({
      id: 'items-pg',
      sourceId: 'shop',
      table: 'items',
      targetId: 'pg',
      targetTable: 'items',
      enabled: true,
      filter: null,
      mapping: null,
      conflictPolicy: null,
      partitions: 1,
      localOnly: false,
      droppedColumns: 'keep',
      initialCopy: {
        requested: true,
        sourceRows: 3,
        message: expect.stringContaining('items has 3 rows; an initial copy was requested'),
      },
    });
    expect(await expectStatus('GET', '/api/sources/shop', 200)).toEqual({ id: 'shop', url: source.url, tables: ['items'], routes: ['items-pg'] });

    // The relay and the worker pick the new configuration up while running; these writes come before
    // the relay's next look at its routes, so they exercise the catch-up for a route it learns of late.
    await insertItems([100, 101, 102]);
    await source.knex.raw("UPDATE items SET name = 'changed' WHERE id = 101");
    await source.knex.raw('DELETE FROM items WHERE id = 102');
    await waitFor(async () => {
      const ids = await pgIds();
      return ids.includes(1) && ids.includes(100) && ids.includes(101) && !ids.includes(102) && ids;
    }, { timeoutMs: 30_000, what: 'rows 1, 100 and 101 at PostgreSQL' }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
    });
    expect(await pgIds()).toEqual([1, 2, 3, 100, 101]); // rows from before the route came with the initial copy
    const copy = await waitFor(
      async () => {
        const snapshot = await call<Json>('GET', '/api/routes/items-pg/snapshot');
        return snapshot.json.status === 'done' && snapshot.json;
      },
      { timeoutMs: 30_000, what: 'the initial copy to be done' },
    );
    expect(copy).toMatchObject({ routeId: 'items-pg', reason: 'initial', fraction: 1, etaSeconds: 0, error: null });
    expect(copy.rowsCopied).toBeGreaterThanOrEqual(3); // rows written after the route was created may be copied too
    await expectStatus('POST', '/api/routes/items-pg/resync', 202, { actor: 'ops' });
    await expectStatus('POST', '/api/routes/nope/resync', 404, {});
    expect((await pipeline.postgres.knex('items').where({ id: 101 }).first()).name).toBe('changed');

    // One logger per process: the services' lines carry the app's name like bootstrap's own.
    expect(app.logged('"app":"tributary","source":"shop"')).toBe(true); // the relay's per-source logger
    expect(app.logged('"app":"tributary","route":"items-pg"')).toBe(true); // the worker's

    const metrics = await call('GET', '/metrics', undefined, {});
    const applied = /^tributary_changes_applied_total\{route="items-pg"\} (\d+)/m.exec(metrics.text);
    expect(Number(applied?.[1] ?? 0)).toBeGreaterThan(0);
    // Observed in the status API too: caught up, running, nothing refused.
    await waitFor(
      async () => {
        const status = await call<Json[]>('GET', '/api/status');
        const route = status.json.find((entry) => entry.route === 'items-pg');
        return route && route.state === 'running' && (route.lag as Json).changes === 0 && route;
      },
      { timeoutMs: 30_000, what: 'items-pg caught up in /api/status' },
    );
    const [itemsStatus] = (await call<Json[]>('GET', '/api/status')).json.filter((entry) => entry.route === 'items-pg');
    expect(Number(itemsStatus.lastAppliedSeq)).toBeGreaterThan(0);
    expect(itemsStatus.deadLetters).toMatchObject({ open: 0 });
    // The re-sync asked for above shows in the status with its progress.
    expect(itemsStatus.snapshot).toMatchObject({ routeId: 'items-pg', reason: 'resync', requestedBy: 'ops', rowsCopied: expect.any(Number) });

    // A table altered behind Tributary's back is reported as drifted, with the fix.
    await source.knex.raw('ALTER TABLE items ADD COLUMN extra INT NULL');
    const drifted = await expectStatus('GET', '/api/sources/shop/tables/items', 200);
    expect(drifted).toMatchObject({
      installed: true,
      drifted: true,
      refresh: 'POST /api/sources/shop/tables/items/refresh',
      adopt: 'POST /api/sources/shop/tables/items/adopt {"dryRun":true}',
      routes: ['items-pg'],
    });
    expect(drifted.installedHash).not.toEqual(drifted.currentHash);
    const refreshed = await expectStatus('POST', '/api/sources/shop/tables/items/refresh', 200);
    expect((refreshed.columns as Json[]).map((column) => column.name)).toContain('extra');
    expect(await expectStatus('GET', '/api/sources/shop/tables/items', 200)).toMatchObject({ drifted: false, refresh: null, adopt: null });

    // The safe schema-change path: ALTER and triggers in one step; the target table evolves.
    const altered = await expectStatus('POST', '/api/sources/shop/tables/items/alter', 200, { alter: 'ADD COLUMN note VARCHAR(20) NULL' });
    expect((altered.columns as Json[]).map((column) => column.name)).toEqual(['id', 'grp', 'name', 'amount', 'noted', 'payload', 'extra', 'note']);
    await source.knex.raw("INSERT INTO items (id, grp, name, extra, note) VALUES (103, 1, 'n103', 7, 'hello')");
    await waitFor(() => pipeline.postgres.knex('items').where({ id: 103 }).first(), { timeoutMs: 30_000, what: 'row 103 at PostgreSQL' });
    expect(await pipeline.postgres.knex('items').where({ id: 103 }).first()).toMatchObject({ extra: 7, note: 'hello' });

    // A dry run answers with the plan per route and changes nothing.
    const planned = await expectStatus('POST', '/api/sources/shop/tables/items/alter', 200, { alter: 'RENAME COLUMN note TO remark', dryRun: true });
    expect(planned).toMatchObject({
      applied: false,
      plan: {
        changes: [{ kind: 'renamed', column: 'remark', exact: true }],
        routes: [{ route: 'items-pg', actions: ['rename column note to remark (its values kept)'], resync: 'none', waits: null }],
      },
    });
    expect((await expectStatus('GET', '/api/sources/shop/tables/items', 200)).schemaHash).toBe(altered.schemaHash);
    expect(((await pipeline.source.knex.raw('SHOW COLUMNS FROM items')) as [Array<{ Field: string }>])[0].map((row) => row.Field)).toContain('note');

    // A table rename too: the plan says the routes read on under the new name, and nothing is renamed.
    const rename = await expectStatus('POST', '/api/sources/shop/tables/items/alter', 200, { alter: 'RENAME TO goods', dryRun: true });
    expect(rename).toMatchObject({
      table: 'goods',
      applied: false,
      plan: { changes: [], tableRename: { from: 'items', to: 'goods' }, routes: [{ route: 'items-pg', targetTable: 'items', resync: 'none', waits: null }] },
    });
    expect((await expectStatus('GET', '/api/sources/shop/tables/items', 200)).table).toBe('items');
  });

  it('answers bad input with a clear 4xx naming the problem, and changes nothing', async () => {
    // A second source whose table could collide with the first's at the target.
    await expectStatus('POST', '/api/sources', 201, { id: 'other', url: other.url });
    await expectStatus('PUT', '/api/sources/other/tables/items', 201);
    await expectStatus('POST', '/api/routes', 201, { id: 'other-pg', sourceId: 'other', table: 'items', targetId: 'pg', targetTable: 'from_other', enabled: false });
    // A second table of the same source, whose rows would merge with items' at a shared target table.
    await pipeline.source.knex.raw('CREATE TABLE archive LIKE items');
    await expectStatus('PUT', '/api/sources/shop/tables/archive', 201);

    const snapshot = async () => ({
      sources: await expectStatus('GET', '/api/sources', 200),
      shopTables: await expectStatus('GET', '/api/sources/shop/tables', 200),
      otherTables: await expectStatus('GET', '/api/sources/other/tables', 200),
      targets: await expectStatus('GET', '/api/targets', 200),
      routes: await expectStatus('GET', '/api/routes', 200),
      triggers: await triggersAt(pipeline.source),
      otherTriggers: await triggersAt(other),
      pgTables: (
        await pipeline.postgres.knex.raw<{ rows: Array<{ name: string }> }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
      ).rows.map((row) => row.name),
      sourceColumns: ((await pipeline.source.knex.raw('SHOW COLUMNS FROM items')) as [Array<{ Field: string }>])[0].map((row) => row.Field),
      sourceKeys: ((await pipeline.source.knex.raw('SHOW KEYS FROM items')) as [Array<{ Key_name: string; Column_name: string }>])[0].map(
        (row) => `${row.Key_name}:${row.Column_name}`,
      ),
      sourceTables: ((await pipeline.source.knex.raw('SHOW TABLES')) as [Array<Record<string, string>>])[0].map((row) => Object.values(row)[0]).sort(),
      bookkeeping: (await pipeline.postgres.knex.raw<{ rows: Json[] }>('SELECT route_id, watermark FROM _tributary_checkpoints ORDER BY 1')).rows,
    });
    // The first test's re-sync and writes may still be on their way to PostgreSQL: let the route settle,
    // so what changes below can only be the bad requests' doing.
    await waitFor(
      async () => {
        // The re-sync asked for in the first test writes copy records until it is done.
        if ((await call<Json>('GET', '/api/routes/items-pg/snapshot')).json.status !== 'done') return false;
        const [[outbox]] = (await pipeline.source.knex.raw('SELECT MAX(seq) AS seq FROM _tributary_outbox')) as [Array<{ seq: number }>];
        const { rows } = await pipeline.postgres.knex.raw<{ rows: Array<{ watermark: string }> }>(
          "SELECT watermark FROM _tributary_checkpoints WHERE route_id = 'items-pg'",
        );
        return rows.length === 1 && Number(rows[0].watermark) >= Number(outbox.seq);
      },
      { timeoutMs: 30_000, what: 'items-pg caught up before the bad requests' },
    );
    const before = await snapshot();
    expect(before.triggers).toEqual(['trb_archive_ad', 'trb_archive_ai', 'trb_archive_au', 'trb_items_ad', 'trb_items_ai', 'trb_items_au']);

    const good = { id: 'items-pg2', sourceId: 'shop', table: 'items', targetId: 'pg', targetTable: 'items_copy' };
    const downSource = `mysql://root:${PASSWORD}@127.0.0.1:1/nowhere`;
    const cases: Array<[string, string, unknown, number, string]> = [
      // sources
      ['POST', '/api/sources', { id: 'x', url: 'postgres://u@h/db' }, 400, 'url must start with mysql:// or mariadb://'],
      ['POST', '/api/sources', { id: 'x', url: 'mysql://root@127.0.0.1:3306' }, 400, 'url must name the database'],
      ['POST', '/api/sources', { id: 'x', url: `${pipeline.source.url}?multipleStatements=true` }, 400, 'url option "multipleStatements" is not supported'],
      ['POST', '/api/sources', { id: 'Bad Id', url: pipeline.source.url }, 400, 'id must start with a lowercase letter'],
      ['POST', '/api/sources', { id: 'shop', url: pipeline.source.url }, 409, 'source shop already exists'],
      ['POST', '/api/sources', { id: 'shop2', url: pipeline.source.url }, 409, 'source shop already captures from this database'],
      ['POST', '/api/sources', { id: 'down', url: downSource }, 422, 'cannot connect to the source database: connect ECONNREFUSED'],
      ['POST', '/api/sources', { id: 'x' }, 400, 'url must be a string'],
      ['POST', '/api/sources', { id: 5, url: pipeline.source.url }, 400, 'id must be a string'],
      ['POST', '/api/sources', { id: 'x', url: pipeline.source.url, extra: 1 }, 400, 'property extra should not exist'],
      ['POST', '/api/sources', new RawBody('{"id": "x", "url": '), 400, 'request body is not valid JSON'],
      ['GET', '/api/sources/nope', undefined, 404, 'source nope does not exist'],
      ['DELETE', '/api/sources/nope', undefined, 404, 'source nope does not exist'],
      ['DELETE', '/api/sources/shop', undefined, 409, 'source shop is used by routes items-pg'],
      ['DELETE', '/api/sources/other', undefined, 409, 'source other is used by routes other-pg'],
      ['DELETE', '/api/sources/other/tables/items', undefined, 409, 'table items of source other is replicated by routes other-pg'],
      // tables
      ['GET', '/api/sources/nope/tables', undefined, 404, 'source nope does not exist'],
      ['PUT', '/api/sources/nope/tables/items', undefined, 404, 'source nope does not exist'],
      ['PUT', '/api/sources/shop/tables/missing', undefined, 404, 'table missing does not exist in source shop'],
      ['PUT', `/api/sources/shop/tables/${encodeURIComponent('items; DROP TABLE x')}`, undefined, 400, 'table must be 1-64 characters of letters, digits, _ or $'],
      ['PUT', '/api/sources/shop/tables/nokey', undefined, 400, 'table nokey has no primary key or NOT NULL unique key'],
      ['GET', '/api/sources/shop/tables/nokey', undefined, 404, 'table nokey of source shop is not captured'],
      ['POST', '/api/sources/shop/tables/nokey/refresh', undefined, 404, 'table nokey of source shop is not captured'],
      ['POST', '/api/sources/shop/tables/items/alter', { alter: 'DROP COLUMN note; DROP TABLE items' }, 400, 'must not contain ";"'],
      ['POST', '/api/sources/shop/tables/items/alter', { alter: 'ADD COLUMN c INT, RENAME TO stolen' }, 400, 'rename the table in an ALTER of its own'],
      ['POST', '/api/sources/shop/tables/items/alter', { alter: 'RENAME TO _tributary_outbox' }, 400, 'cannot be renamed to _tributary_outbox'],
      ['POST', '/api/sources/shop/tables/items/alter', { alter: 'DROP COLUMN no_such' }, 400, 'ALTER TABLE items failed, the table is unchanged'],
      ['POST', '/api/sources/shop/tables/items/alter', {}, 400, 'alter must be a string'],
      // A refused ALTER changes nothing: it is tried on an empty copy first (MariaDB cannot roll DDL back).
      ['POST', '/api/sources/shop/tables/items/alter', { alter: 'DROP PRIMARY KEY' }, 400, 'ALTER TABLE items refused, the table is unchanged: capture could not carry the result'],
      ['POST', '/api/sources/shop/tables/items/alter', { alter: 'DROP PRIMARY KEY, ADD PRIMARY KEY (id, grp)' }, 400, 'it would change the key capture uses from (id) to (id, grp)'],
      // Tributary's own tables are never captured, at any case.
      ['PUT', '/api/sources/shop/tables/_tributary_outbox', undefined, 400, "table: _tributary_outbox is reserved: Tributary keeps its own bookkeeping in tables named _tributary_*"],
      ['PUT', '/api/sources/shop/tables/_Tributary_Migrations', undefined, 400, 'table: _Tributary_Migrations is reserved'],
      ['PUT', '/api/sources/shop/tables/tributary_routes', undefined, 400, "table: tributary_routes is reserved: it is a table of Tributary's control schema"],
      ['POST', '/api/sources/shop/tables/nokey/alter', { alter: 'ADD COLUMN c INT' }, 404, 'table nokey of source shop is not captured'],
      ['POST', '/api/sources/shop/tables/items/alter', { alter: 'ADD COLUMN c INT', dryRun: 'yes' }, 400, 'dryRun must be a boolean value'],
      ['POST', '/api/sources/shop/tables/items/adopt', { renames: { no_such: 'name' } }, 400, 'column no_such is renamed, but table items had no such column'],
      ['POST', '/api/sources/shop/tables/items/adopt', { renames: { name: 'x; DROP TABLE items' } }, 400, 'must be 1-64 characters'],
      ['PATCH', '/api/routes/items-pg', { droppedColumns: 'erase' }, 400, 'droppedColumns must be one of the following values: keep, drop'],
      ['DELETE', '/api/sources/shop/tables/items', undefined, 409, 'table items of source shop is replicated by routes items-pg'],
      ['DELETE', '/api/sources/shop/tables/nokey', undefined, 404, 'table nokey of source shop is not captured'],
      // targets
      ['POST', '/api/targets', { id: 'x', kind: 'oracle', url: 'oracle://h/db' }, 400, 'target kind "oracle" is not one of: http, mysql, nats, postgres, rabbitmq, redis, sqlite'],
      ['POST', '/api/targets', { id: 'pg', kind: 'postgres', url: pgUrl }, 409, 'target pg already exists'],
      ['POST', '/api/targets', { id: 'x', kind: 'postgres', url: `mysql://root:${PASSWORD}@h/db` }, 400, 'must start with postgres:// or postgresql://'],
      ['POST', '/api/targets', { id: 'x', kind: 'postgres', url: `mysql://h/db?password=${PASSWORD}` }, 400, 'must start with postgres:// or postgresql://'],
      ['POST', '/api/targets', { id: 'x', kind: 'postgres', url: pgUrl, options: { poolMax: 'many' } }, 400, 'option poolMax must be an integer from 1 to 64'],
      // Every number and string has a bound: sizes that would exhaust sockets, hang requests or flood logs are refused.
      ['POST', '/api/targets', { id: 'x', kind: 'postgres', url: pgUrl, options: { poolMax: 1e15 } }, 400, 'option poolMax must be an integer from 1 to 64'],
      ['POST', '/api/targets', { id: 'x', kind: 'postgres', url: pgUrl, options: { connectTimeoutMs: 1e300 } }, 400, 'option connectTimeoutMs must be an integer from 1 to 60000'],
      ['POST', '/api/targets', { id: 'x', kind: 'http', url: 'http://127.0.0.1:1/hook', options: { secret: HOOK_SECRET, retries: 1000 } }, 400, 'option retries must be an integer from 0 to 10'],
      ['POST', '/api/targets', { id: 'x', kind: 'postgres', url: `${pgUrl}?application_name=${'a'.repeat(70_000)}` }, 400, 'url must be shorter than or equal to 2048 characters'],
      // Target URLs take only harmless driver options, like source URLs.
      ['POST', '/api/targets', { id: 'x', kind: 'mysql', url: `mysql://root:${PASSWORD}@127.0.0.1:3306/test?multipleStatements=true` }, 400, 'url option "multipleStatements" is not supported (supported: ssl, connectTimeout, charset)'],
      ['POST', '/api/targets', { id: 'x', kind: 'postgres', url: `${pgUrl}?sslkey=/etc/shadow` }, 400, 'url option "sslkey" is not supported'],
      // SQLite files stay inside SQLITE_DIR (here the app's working directory), whatever the URL spells.
      ['POST', '/api/targets', { id: 'x', kind: 'sqlite', url: 'sqlite:///var/x/%2E%2E/%2E%2E/etc/passwd' }, 400, 'the file must be inside'],
      ['POST', '/api/targets', { id: 'x', kind: 'sqlite', url: 'sqlite:///tmp/x.db', options: { busyTimeoutMs: 5, pad: 'p'.repeat(70_000) } }, 400, 'options: at most 8192 characters as JSON'],
      ['POST', '/api/sources', { id: 'x', url: `${pipeline.source.url}?connectTimeout=600000` }, 400, 'url option connectTimeout must be a number of milliseconds from 1 to 60000'],
      ['POST', '/api/sources', { id: 'x'.repeat(70_000), url: pipeline.source.url }, 400, 'id must be shorter than or equal to 63 characters'],
      ['PATCH', '/api/routes/items-pg', { enabled: null }, 400, 'enabled must be a boolean'],
      ['PATCH', '/api/targets/pg', { url: null }, 400, 'url must be a string'],
      ['POST', '/api/routes/items-pg/resync', { actor: 'a'.repeat(300) }, 400, 'actor must be shorter than or equal to 255 characters'],
      ['POST', '/api/targets', { id: 'x', kind: 'postgres', url: pgUrl, options: 'many' }, 400, 'options must be an object'],
      ['POST', '/api/targets', { id: 'Bad Id', kind: 'postgres', url: pgUrl }, 400, 'id must start with a lowercase letter'],
      ['POST', '/api/targets', { id: 'x', url: pgUrl }, 400, 'kind must be a string'],
      ['GET', '/api/targets/nope', undefined, 404, 'target nope does not exist'],
      ['PATCH', '/api/targets/nope', { url: pgUrl }, 404, 'target nope does not exist'],
      ['PATCH', '/api/targets/pg', { url: 'postgres://h' }, 400, 'names no database'],
      ['PATCH', '/api/targets/pg', { kind: 'mysql' }, 400, 'property kind should not exist'],
      ['POST', '/api/targets/nope/test', undefined, 404, 'target nope does not exist'],
      ['DELETE', '/api/targets/pg', undefined, 409, 'target pg is used by routes items-pg, other-pg'],
      // routes
      ['POST', '/api/routes', { ...good, id: 'Bad Id' }, 400, 'id must start with a lowercase letter'],
      ['POST', '/api/routes', { ...good, id: 'items-pg' }, 409, 'route items-pg already exists'],
      ['POST', '/api/routes', { ...good, sourceId: 'nope' }, 400, 'source nope does not exist'],
      ['POST', '/api/routes', { ...good, table: 'nokey' }, 400, 'table nokey of source shop is not captured'],
      ['POST', '/api/routes', { ...good, table: 'items; DROP TABLE x' }, 400, 'table must be 1-64 characters'],
      ['POST', '/api/routes', { ...good, targetId: 'nope' }, 400, 'target nope does not exist'],
      ['POST', '/api/routes', { ...good, targetTable: 'a`b' }, 400, 'targetTable must be 1-64 characters'],
      ['POST', '/api/routes', { ...good, enabled: 'yes' }, 400, 'enabled must be a boolean'],
      ['POST', '/api/routes', { ...good, filter: 'grp = 1 and grpp = 2' }, 400, 'filter: unknown column "grpp" at position 12'],
      ['POST', '/api/routes', { ...good, mapping: { name: 'title' } }, 400, 'mapping: name: unknown field'],
      ['POST', '/api/routes', { ...good, conflictPolicy: { kind: 'source-wins' } }, 400, 'conflictPolicy.kind: unknown field'],
      ['POST', '/api/routes', { ...good, conflictPolicy: { resolution: 'newer-wins' } }, 400, 'conflictPolicy.column'],
      ['POST', '/api/routes', { ...good, conflictPolicy: { resolution: 'newer-wins', column: 'name' } }, 400, 'conflictPolicy.column'],
      ['POST', '/api/routes', { ...good, targetTable: 'wrongkey' }, 400, "target table wrongkey has primary key (name), but the route's key is (id)"],
      // A route never writes Tributary's bookkeeping at its target (that loses changes silently).
      ['POST', '/api/routes', { ...good, targetTable: '_tributary_rows' }, 400, 'targetTable: _tributary_rows is reserved'],
      ['POST', '/api/routes', { ...good, targetTable: '_TRIBUTARY_CHECKPOINTS' }, 400, 'targetTable: _TRIBUTARY_CHECKPOINTS is reserved'],
      ['POST', '/api/routes', { ...good, targetTable: 'tributary_route_progress' }, 400, "targetTable: tributary_route_progress is reserved: it is a table of Tributary's control schema"],
      ['PATCH', '/api/routes/items-pg', { targetTable: '_tributary_checkpoints' }, 400, 'targetTable: _tributary_checkpoints is reserved'],
      // Two tables of one source into one target table merge rows by key: only when asked for.
      ['POST', '/api/routes', { ...good, table: 'archive', targetTable: 'items' }, 409, 'route items-pg already writes table items of target pg from shop.items: a row of archive would overwrite the row of items with the same key'],
      ['POST', '/api/routes', { ...good, table: 'archive', targetTable: 'items', shareTargetTable: 'yes' }, 400, 'shareTargetTable must be a boolean'],
      // Keys that name Object members would be lost or shadow lookups (a rename of __proto__ was stored as {}).
      ['POST', '/api/routes', new RawBody(JSON.stringify(good).replace('}', ', "mapping": {"rename": {"__proto__": "x"}}}')), 400, 'the key "__proto__" is not allowed (at body.mapping.rename)'],
      ['POST', '/api/routes', { ...good, mapping: { rename: { hasOwnProperty: 'x' } } }, 400, 'the key "hasOwnProperty" is not allowed'],
      ['PATCH', '/api/routes/items-pg', { mapping: { rename: { constructor: 'x' } } }, 400, 'the key "constructor" is not allowed'],
      // Nesting that would overflow validation's recursion, on the API and on the public login alike.
      ['POST', '/api/routes', new RawBody('{"mapping":' + '['.repeat(5000) + ']'.repeat(5000) + '}'), 400, 'request body is nested deeper than 32 levels'],
      ['POST', '/login', new RawBody('['.repeat(5000) + ']'.repeat(5000)), 400, 'request body is nested deeper than 32 levels'],
      ['POST', '/api/routes', { ...good, targetTable: 'items' }, 409, 'route items-pg already replicates shop.items into table items of target pg'],
      ['POST', '/api/routes', { ...good, sourceId: 'other', targetTable: 'items' }, 409, 'route items-pg already writes table items of target pg from source shop'],
      ['POST', '/api/routes', { id: 'x', sourceId: 'shop', targetId: 'pg' }, 400, 'table must be a string'],
      ['POST', '/api/routes', new RawBody('[1, 2'), 400, 'request body is not valid JSON'],
      ['GET', '/api/routes/nope', undefined, 404, 'route nope does not exist'],
      // A path that exists, asked with a method it does not take: 405 with the ones it takes (Allow), not 404.
      ['DELETE', '/api/sources', undefined, 405, 'DELETE is not allowed on /api/sources; use GET, HEAD, POST'],
      ['PUT', '/api/routes/items-pg', { enabled: true }, 405, 'PUT is not allowed on /api/routes/items-pg; use DELETE, GET, HEAD, PATCH'],
      ['GET', '/api/no/such/path', undefined, 404, 'Cannot GET /api/no/such/path'],
      // One rule for query parameters: an unknown one is refused, whether the endpoint takes some or none.
      ['GET', '/api/routes?limt=5', undefined, 400, 'unknown query parameter "limt": this endpoint takes none'],
      ['GET', '/api/routes/items-pg/dead-letters?limt=5', undefined, 400, 'property limt should not exist'],
      ['PATCH', '/api/routes/items-pg', { enabled: 'yes' }, 400, 'enabled must be a boolean'],
      ['PATCH', '/api/routes/items-pg', { targetTable: 'wrongkey' }, 400, "target table wrongkey has primary key (name), but the route's key is (id)"],
      ['PATCH', '/api/routes/items-pg', { targetTable: 'a`b' }, 400, 'targetTable must be 1-64 characters'],
      ['PATCH', '/api/routes/items-pg', { sourceId: 'other' }, 400, 'property sourceId should not exist'],
      ['PATCH', '/api/routes/items-pg', { targetTable: 'from_other' }, 409, 'route other-pg already writes table from_other of target pg from source other'],
      ['PATCH', '/api/routes/nope', { enabled: false }, 404, 'route nope does not exist'],
      ['POST', '/api/routes/nope/pause', undefined, 404, 'route nope does not exist'],
      ['DELETE', '/api/routes/nope', undefined, 404, 'route nope does not exist'],
    ];

    const failures: string[] = [];
    for (const [method, path, body, status, fragment] of cases) {
      const answer = await call(method, path, body);
      const message = typeof answer.json?.message === 'string' ? answer.json.message : '';
      const what = `${method} ${path} ${body instanceof RawBody ? body.text : JSON.stringify(body)}`;
      if (answer.status !== status) failures.push(`${what}: expected ${status}, got ${answer.status}: ${answer.text}`);
      else if (!message.includes(fragment)) failures.push(`${what}: message ${JSON.stringify(message)} lacks ${JSON.stringify(fragment)}`);
      else if (answer.json.statusCode !== status || typeof answer.json.error !== 'string') failures.push(`${what}: not the error shape: ${answer.text}`);
      else if (/\n\s+at /.test(answer.text) || answer.text.includes(PASSWORD)) failures.push(`${what}: leaks a stack or the password: ${answer.text}`);
    }
    expect(failures).toEqual([]);

    // The login page parses bodies before anyone is signed in: deep nesting is a 400 there too, without a token.
    const anonymous = await call('POST', '/login', new RawBody('['.repeat(5000) + ']'.repeat(5000)), {});
    expect({ status: anonymous.status, message: anonymous.json?.message }).toEqual({ status: 400, message: expect.stringContaining('nested deeper than 32 levels') });

    // Errors about one field say which.
    const bad = await call('POST', '/api/routes', { ...good, targetTable: 'a`b' });
    expect(bad.json.details).toEqual([{ field: 'targetTable', message: expect.stringContaining('targetTable must be') }]);

    expect(await snapshot()).toEqual(before);

    // Asked for explicitly, two tables of one source share a target table.
    const shared = await expectStatus('POST', '/api/routes', 201, { ...good, id: 'archive-pg', table: 'archive', targetTable: 'items', shareTargetTable: true, enabled: false });
    expect(shared).toMatchObject({ id: 'archive-pg', table: 'archive', targetTable: 'items' });
    expect(shared).not.toHaveProperty('shareTargetTable');
    await expectStatus('DELETE', '/api/routes/archive-pg', 204);
    await expectStatus('DELETE', '/api/sources/shop/tables/archive', 204);
  });

  it('never shows a password, whatever the call', async () => {
    const downUrl = `postgres://postgres:${PASSWORD}@127.0.0.1:1/nowhere?password=${PASSWORD}`;
    const created = await expectStatus('POST', '/api/targets', 201, { id: 'pg-down', kind: 'postgres', url: downUrl, options: { poolMax: 2 } });
    expect(created.url).toBe('postgres://postgres:***@127.0.0.1:1/nowhere?password=***');
    const test = await expectStatus('POST', '/api/targets/pg-down/test', 200);
    expect(test).toEqual({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
    await expectStatus('GET', '/api/targets', 200);
    await expectStatus('GET', '/api/targets/pg-down', 200);
    await expectStatus('GET', '/api/targets/pg', 200);
    const patched = await expectStatus('PATCH', '/api/targets/pg-down', 200, { url: `postgres://app:${PASSWORD}@127.0.0.1:2/other` });
    expect(patched).toMatchObject({ url: 'postgres://app:***@127.0.0.1:2/other', options: { poolMax: 2 } });
    // A route into a target that does not answer cannot be checked: 502, and nothing is stored.
    const unchecked = await call('POST', '/api/routes', { id: 'to-down', sourceId: 'shop', table: 'items', targetId: 'pg-down' });
    expect(unchecked.status).toBe(502);
    expect(unchecked.json.message).toMatch(/^target pg-down is unreachable, so table items could not be checked: .*ECONNREFUSED/);
    await expectStatus('GET', '/api/routes/to-down', 404);
    await expectStatus('DELETE', '/api/targets/pg-down', 204);
    await expectStatus('GET', '/api/targets/pg-down', 404);

    const docs = await call('GET', '/docs-json');
    expect(docs.status).toBe(200);
    expect(Object.keys((docs.json.paths ?? {}) as Json)).toEqual(
      expect.arrayContaining(['/api/sources', '/api/sources/{sourceId}/tables/{table}', '/api/targets/{targetId}/test', '/api/routes/{routeId}/pause']),
    );

    const leaks = seen.filter((text) => text.includes(PASSWORD));
    expect(leaks).toEqual([]);
    expect(seen.length).toBeGreaterThan(80);
    // A log scan: after the bad-input table and the calls above, no secret the suite sent is in the app's log.
    expect(app.logged('"level"')).toBe(true); // the scan reads the JSON log lines
    expect({ password: app.logged(PASSWORD), hookSecret: app.logged(HOOK_SECRET) }).toEqual({ password: false, hookSecret: false });
  });

  it('pauses and resumes a running route without a restart', async () => {
    const paused = await expectStatus('POST', '/api/routes/items-pg/pause', 200);
    expect(paused).toMatchObject({ id: 'items-pg', enabled: false });
    await sleep(4500); // two configuration refreshes
    const routeStatus = await call('GET', '/api/routes/items-pg/status');
    if (routeStatus.status === 200) expect(routeStatus.json.state).toBe('paused');
    await insertItems([200, 201]);
    await sleep(2000);
    expect(await pgIds()).not.toContain(200);

    expect(await expectStatus('POST', '/api/routes/items-pg/resume', 200)).toMatchObject({ enabled: true });
    await waitFor(async () => (await pgIds()).includes(201), { timeoutMs: 30_000, what: 'rows written while paused to arrive after resume' });
    expect(await pgIds()).toEqual(expect.arrayContaining([200, 201]));

    // Deleting the route stops it; the table and target can then go too.
    await expectStatus('DELETE', '/api/routes/items-pg', 204);
    await expectStatus('DELETE', '/api/sources/shop/tables/items', 204);
    expect(await triggersAt(pipeline.source)).toEqual([]);
    await expectStatus('DELETE', '/api/routes/other-pg', 204);
    expect((await call('DELETE', '/api/sources/other')).json.message).toBe('source other still has captured tables (items); disable their capture first');
    // A source that is gone must not pin its tables (and itself) in the configuration forever.
    await pipeline.source.knex.raw(`DROP DATABASE \`${other.name}\``);
    const unreachable = await call('DELETE', '/api/sources/other/tables/items');
    expect(unreachable.status).toBe(502);
    expect(unreachable.json.message).toMatch(/^source other is unreachable: Unknown database .*; use force to remove items from the configuration anyway$/);
    expect((await call('DELETE', '/api/sources/other/tables/items?force=maybe')).status).toBe(400);
    const forced = await expectStatus('DELETE', '/api/sources/other/tables/items?force=true', 200);
    expect(forced).toEqual({ triggersRemoved: false, message: expect.stringContaining('could not be dropped') });
    await expectStatus('DELETE', '/api/sources/other', 204);
    await expectStatus('DELETE', '/api/sources/shop', 204);
    await expectStatus('DELETE', '/api/targets/pg', 204);
    for (const collection of ['/api/sources', '/api/targets', '/api/routes']) expect(await expectStatus('GET', collection, 200)).toEqual([]);
  });
});

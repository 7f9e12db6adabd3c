import { randomBytes } from 'node:crypto';
import { introspectTable } from '@tributary/capture';
import { Row } from '@tributary/model';
import { compileFilter, compileMapping } from '@tributary/replication';
import { MysqlTarget, PostgresTarget } from '@tributary/targets';
import { adminClient, AppProcess, createPipeline, freePort, Pipeline, waitFor } from '@tributary/testing';

/**
 * Row filters and column mappings end to end, through the real all-in-one
 * app: a route configured over HTTP with a filter and a mapping, a workload
 * that moves rows in and out of the filter (also by changing their key),
 * and a target that ends equal to "source rows that match, now", mapped.
 */

type Json = Record<string, unknown>;

const TOKEN = randomBytes(24).toString('base64url').slice(0, 32);
const ORDERS_DDL = `CREATE TABLE orders (
  id INT NOT NULL PRIMARY KEY,
  region VARCHAR(8) NOT NULL,
  amount DECIMAL(14,2) NULL,
  status VARCHAR(16) NOT NULL,
  secret VARCHAR(32) NULL,
  title VARCHAR(64) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
const FILTER = "region in ('EU','UK') and amount >= 100";
const MAPPING = {
  exclude: ['secret'],
  rename: { title: 'label' },
  computed: [
    { name: 'src', value: 'source' },
    { name: 'changed_at', value: 'change_ts' },
  ],
};

describe('row filters and column mapping: real HTTP, all-in-one app, PostgreSQL target', () => {
  let pipeline: Pipeline;
  let app: AppProcess;
  let base: string;
  let pg: PostgresTarget;
  let sourceReader: MysqlTarget;

  const call = adminClient<Json>(() => base, TOKEN);

  async function expectStatus(method: string, path: string, status: number, body?: unknown): Promise<Json> {
    const answer = await call(method, path, body);
    if (answer.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${answer.status}: ${answer.text}`);
    return answer.json;
  }

  const sql = (text: string, bindings: unknown[] = []) => pipeline.source.knex.raw(text, bindings as never[]);

  beforeAll(async () => {
    pipeline = await createPipeline();
    await pipeline.source.knex.raw(ORDERS_DDL);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN });
    await waitFor(() => fetch(`${base}/health`).then((r) => r.ok).catch(() => false), { timeoutMs: 60_000, what: 'the app to answer /health' }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
    });
    await expectStatus('POST', '/api/sources', 201, { id: 'shop', url: pipeline.source.url });
    await expectStatus('PUT', '/api/sources/shop/tables/orders', 201);
    await expectStatus('POST', '/api/targets', 201, { id: 'pg', kind: 'postgres', url: pipeline.postgres.url });
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
    sourceReader = new MysqlTarget({ kind: 'mysql', url: pipeline.source.url });
  }, 120_000);

  afterAll(async () => {
    await pg?.close();
    await sourceReader?.close();
    await pipeline?.teardown();
  });

  it('refuses bad filters and mappings with the field, the place and the reason', async () => {
    const good = { id: 'bad', sourceId: 'shop', table: 'orders', targetId: 'pg', targetTable: 'orders_bad' };
    const cases: Array<[Json, string, string]> = [
      [{ filter: "region = 'EU' and regoin = 'UK'" }, 'filter', 'unknown column "regoin" at position 18'],
      [{ filter: "region in ('EU'" }, 'filter', 'syntax error'],
      [{ filter: "region = 'EU' && amount > 1" }, 'filter', 'unexpected character "&" at position 14'],
      [{ filter: "amount >= 'lots'" }, 'filter', 'expected a number, got "lots" at position 10'],
      [{ filter: 'x'.repeat(2001) }, 'filter', 'at most 2000 characters'],
      [{ filter: 42 }, 'filter', 'must be a string'],
      [{ mapping: { exclude: ['id'] } }, 'mapping', 'key column "id" cannot be left out'],
      [{ mapping: { rename: { titel: 'label' } } }, 'mapping', 'rename.titel: unknown column "titel"'],
      [{ mapping: { rename: { title: 'status' } } }, 'mapping', 'two target columns are named "status"'],
      [{ mapping: { computed: [{ name: 'at', value: 'NOW()' }] } }, 'mapping', 'computed[0].value'],
      [{ conflictPolicy: { resolution: 'sometimes' } }, 'conflictPolicy', 'conflictPolicy.resolution'],
    ];
    const failures: string[] = [];
    for (const [extra, field, fragment] of cases) {
      const answer = await call('POST', '/api/routes', { ...good, ...extra });
      const details = answer.json?.details as Array<{ field: string; message: string }> | undefined;
      if (answer.status !== 400) failures.push(`${JSON.stringify(extra).slice(0, 80)}: expected 400, got ${answer.status}: ${answer.text}`);
      else if (details?.[0]?.field !== field || !details[0].message.includes(fragment)) failures.push(`${JSON.stringify(extra).slice(0, 80)}: ${answer.text}`);
    }
    expect(failures).toEqual([]);
    expect((await expectStatus('GET', '/api/routes', 200)) as unknown).toEqual([]);
  });

  it('keeps the target equal to the source rows that match now, mapped', async () => {
    const created = await expectStatus('POST', '/api/routes', 201, {
      id: 'orders-eu', sourceId: 'shop', table: 'orders', targetId: 'pg', targetTable: 'orders_eu', filter: FILTER, mapping: MAPPING,
    });
    expect(created).toMatchObject({ filter: FILTER, mapping: MAPPING });
    // The route reaches the running worker on its next configuration refresh.
    await waitFor(async () => (await pipeline.progress.listProgress(['orders-eu'])).length > 0, { what: 'the route progress row' });
    await new Promise((resolve) => setTimeout(resolve, 500));

    const regions = ['EU', 'UK', 'US', 'FR'];
    for (let id = 1; id <= 60; id++) {
      const amount = id % 7 === 0 ? null : (id * 7.25).toFixed(2);
      await sql('INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)', [id, regions[id % 4], amount, 'new', `s${id}`, `t${id}`]);
    }
    // Moves in: a region or an amount that starts matching.
    await sql("UPDATE orders SET region = 'EU' WHERE region = 'US' AND id BETWEEN 20 AND 40");
    await sql('UPDATE orders SET amount = 250.50 WHERE amount IS NULL AND id < 30');
    // Moves out, and changes that stay inside or outside.
    await sql("UPDATE orders SET region = 'FR' WHERE region = 'UK' AND id > 40");
    await sql('UPDATE orders SET amount = 99.99 WHERE id IN (17, 18, 21)');
    await sql("UPDATE orders SET status = 'paid', secret = 'changed' WHERE id % 3 = 0");
    await sql("UPDATE orders SET title = CONCAT(title, '!') WHERE region = 'FR'");
    // Key changes: staying in, moving out with the key, moving in with the key.
    await sql('UPDATE orders SET id = id + 1000 WHERE id IN (25, 26)');
    await sql("UPDATE orders SET id = id + 2000, region = 'US' WHERE id IN (29, 33)");
    await sql("UPDATE orders SET id = id + 3000, region = 'UK', amount = 1000 WHERE id IN (43, 47)");
    // Deletes of matching rows, of rows that never matched, and one re-inserted.
    await sql('DELETE FROM orders WHERE id IN (1, 2, 3, 4, 5, 37, 38)');
    await sql("INSERT INTO orders VALUES (37, 'EU', 1234567890.25, 'again', 'x', 'back')");
    // A transaction mixing everything, applied as one batch.
    await pipeline.source.knex.transaction(async (trx) => {
      await trx.raw("UPDATE orders SET region = 'EU' WHERE id = 42");
      await trx.raw("UPDATE orders SET region = 'US' WHERE id = 42");
      await trx.raw("UPDATE orders SET region = 'UK' WHERE id = 45");
      await trx.raw('DELETE FROM orders WHERE id = 1025');
    });
    await pipeline.waitForCatchUp('orders-eu');

    const schema = await introspectTable(pipeline.source.knex, 'orders');
    const filter = compileFilter(FILTER, schema.columns);
    const mapping = compileMapping(MAPPING, schema.columns, schema.key);
    const source = await sourceReader.readRows({ name: 'orders', columns: schema.columns, key: schema.key });
    const context = { source: 'shop', table: 'orders', seq: 0, op: 'insert' as const, ts: 0 };
    const withoutComputed = ({ src: _src, changed_at: _at, ...rest }: Row) => rest;
    const expected = source.filter((row) => filter.evaluate(row)).map((row) => withoutComputed(mapping.mapRow(row, context)));
    const target = await pg.readRows({ name: 'orders_eu', columns: mapping.columns, key: mapping.key });

    expect(expected.length).toBeGreaterThan(10);
    expect(expected.length).toBeLessThan(source.length);
    expect(target.map(withoutComputed)).toEqual(expected);
    for (const row of target) {
      expect(row.src).toBe('shop');
      expect(row.changed_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
      expect(Math.abs(Date.parse(`${row.changed_at}Z`.replace(' ', 'T')) - Date.now())).toBeLessThan(10 * 60_000);
    }
    const columns = await pipeline.postgres.knex.raw<{ rows: Array<{ column_name: string }> }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders_eu' AND column_name NOT LIKE '\\_%' ORDER BY ordinal_position",
    );
    expect(columns.rows.map((r) => r.column_name)).toEqual(['id', 'region', 'amount', 'status', 'label', 'src', 'changed_at']);
    expect(await pipeline.deadLetters.list('orders-eu', { status: 'all', limit: 100 })).toEqual([]);
    const [progress] = await pipeline.progress.listProgress(['orders-eu']);
    expect(progress.lastError).toBeNull();
  });

  it('changes a filter without a reset; a re-sync then brings the rows already there in line', async () => {
    const bad = await call('PATCH', '/api/routes/orders-eu', { filter: "regon = 'EU'" });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toEqual([{ field: 'filter', message: 'filter: unknown column "regon" at position 0' }]);

    const changed = await expectStatus('PATCH', '/api/routes/orders-eu', 200, { filter: "region = 'FR'" });
    expect(changed).toMatchObject({ filter: "region = 'FR'", mapping: MAPPING, resync: { available: true } });
    expect(String((changed.resync as Json).message)).toContain('POST /api/routes/{id}/resync');
    expect(await expectStatus('PATCH', '/api/routes/orders-eu', 200, { enabled: true })).toMatchObject({ resync: null });

    // From now on only FR rows move: a new FR row arrives, a new EU row does not.
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the worker's configuration refresh
    await sql("INSERT INTO orders VALUES (500, 'FR', 1, 'new', null, 'fr'), (501, 'EU', 1000, 'new', null, 'eu')");
    await pipeline.waitForCatchUp('orders-eu');
    const ids = (await pipeline.postgres.knex('orders_eu').select('id')).map((row: { id: number }) => Number(row.id));
    expect(ids).toContain(500);
    expect(ids).not.toContain(501);
    expect(ids.length).toBeGreaterThan(2); // EU rows from before the change are still there

    // The re-sync meets every source row: FR rows arrive, rows that stopped matching go.
    await expectStatus('POST', '/api/routes/orders-eu/resync', 202, { actor: 'test' });
    await waitFor(async () => (await call('GET', '/api/routes/orders-eu/snapshot')).json.status === 'done', { timeoutMs: 30_000, what: 're-sync done' });
    await pipeline.waitForCatchUp('orders-eu');
    const [frRows] = await sql("SELECT id FROM orders WHERE region = 'FR' ORDER BY id");
    const fr = (frRows as Array<{ id: number }>).map((row) => Number(row.id));
    const after = (await pipeline.postgres.knex('orders_eu').select('id').orderBy('id')).map((row: { id: number }) => Number(row.id));
    expect(fr.length).toBeGreaterThan(1);
    expect(after).toEqual(fr);
  });

  it('stalls the route, dropping nothing, when an ALTER removes a column the filter reads; a fixed filter resumes it', async () => {
    const altered = await call('POST', '/api/sources/shop/tables/orders/alter', { alter: 'DROP COLUMN region' });
    expect(altered.status).toBeLessThan(300);
    await sql("INSERT INTO orders (id, amount, status, secret, title) VALUES (600, 5, 'new', null, 'after the drop')");
    await waitFor(async () => (await pipeline.progress.listProgress(['orders-eu']))[0]?.lastError, { what: 'the route to report its filter' });
    const [stalled] = await pipeline.progress.listProgress(['orders-eu']);
    expect(stalled.lastError).toContain('the filter does not fit table orders');
    expect(stalled.lastError).toContain('unknown column "region"');

    // The filter is checked against the table as captured now.
    expect((await call('PATCH', '/api/routes/orders-eu', { filter: "region = 'FR' or status = 'new'" })).status).toBe(400);
    await expectStatus('PATCH', '/api/routes/orders-eu', 200, { filter: "status = 'new'" });
    await pipeline.waitForCatchUp('orders-eu');
    const row = await pipeline.postgres.knex('orders_eu').where({ id: 600 }).first();
    expect(row).toMatchObject({ label: 'after the drop', status: 'new', src: 'shop' });
    expect((await pipeline.progress.listProgress(['orders-eu']))[0].lastError).toBeNull();
    expect(await pipeline.deadLetters.list('orders-eu', { status: 'all', limit: 100 })).toEqual([]);
  });
});

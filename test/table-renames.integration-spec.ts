import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, InvalidInputError } from '@tributary/setup';
import { MysqlTarget, PostgresTarget, SqliteTarget, Target } from '@tributary/targets';
import { openRouteSession, verifyRoute } from '@tributary/verify';
import { AppProcess, createMysqlDatabase, createPipeline, Pipeline, sleep, TestDatabase } from '@tributary/testing';

/**
 * A captured table renamed through Tributary (issue #17): `ALTER … RENAME
 * TO purchases` while an application writes it, with the worker stopped
 * across the rename so changes from before it are applied after it. The
 * relay reads its routes only when it starts (CONFIG_REFRESH_MS is ten
 * minutes here), so only the rename's marker in the outbox can tell it the
 * new name. Every target keeps its table and ends equal to the source; a
 * new table that takes the freed name is another table.
 */
describe('table renames carried without a copy to PostgreSQL, MySQL and SQLite targets', () => {
  let pipeline: Pipeline;
  let mysql: TestDatabase;
  let dir: string;
  let relay: AppProcess | null = null;
  let worker: AppProcess | null = null;
  const targets: Record<string, Target> = {};
  const env = () => ({ SQLITE_DIR: dir, CONFIG_REFRESH_MS: '600000' });
  const ROUTES = ['orders-pg', 'orders-my', 'orders-lite'];

  beforeAll(async () => {
    pipeline = await createPipeline();
    mysql = await createMysqlDatabase('trib_rename_my');
    dir = mkdtempSync(join(tmpdir(), 'trib-rename-'));
    const { source, setup } = pipeline;
    await source.knex.raw('CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(20) NOT NULL, amount INT NOT NULL)');
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 'orders');
    const sqliteUrl = `sqlite://${join(dir, 'rename.db')}`;
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    await setup.addTarget({ id: 'my', kind: 'mysql', url: mysql.url, options: {} });
    await setup.addTarget({ id: 'lite', kind: 'sqlite', url: sqliteUrl, options: {} });
    const route = { sourceId: 'src', table: 'orders', targetTable: 'orders', enabled: true };
    await setup.routes.ensure({ ...route, id: 'orders-pg', targetId: 'pg' });
    await setup.routes.ensure({ ...route, id: 'orders-my', targetId: 'my', filter: "status <> 'void'" });
    await setup.routes.ensure({ ...route, id: 'orders-lite', targetId: 'lite' });
    targets.pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
    targets.my = new MysqlTarget({ kind: 'mysql', url: mysql.url });
    targets.lite = new SqliteTarget({ kind: 'sqlite', url: sqliteUrl });
    for (let id = 1; id <= 30; id++) await source.knex.raw('INSERT INTO orders VALUES (?, ?, ?)', [id, id % 5 === 0 ? 'void' : 'open', id]);
    relay = pipeline.start('relay', env());
    worker = pipeline.start('worker', env());
    await catchUp();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(Object.values(targets).map((target) => target.close()));
    await pipeline?.teardown();
    await mysql?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function catchUp(routes = ROUTES): Promise<void> {
    for (const route of routes) {
      await pipeline.waitForCatchUp(route, 30_000).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${pipeline.logs()}`);
      });
    }
  }

  async function noDeadLetters(): Promise<void> {
    for (const route of ROUTES) expect({ route, letters: await pipeline.deadLetters.list(route, { status: 'all', limit: 10 }) }).toEqual({ route, letters: [] });
  }

  async function sourceTables(): Promise<string[]> {
    const [rows] = (await pipeline.source.knex.raw("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE '\\_tributary\\_%' ORDER BY 1")) as [Array<{ name: string }>];
    return rows.map((row) => row.name);
  }

  it('plans the rename in a dry run that changes nothing, and refuses one it cannot carry', async () => {
    const { setup } = pipeline;
    const planned = await setup.schemaChanges.alter('src', 'orders', 'RENAME TO purchases', { dryRun: true });
    expect(planned.applied).toBe(false);
    expect(planned.schema.table).toBe('purchases');
    expect(planned.plan.tableRename).toEqual({ from: 'orders', to: 'purchases' });
    expect(planned.plan.changes).toEqual([]);
    expect(planned.plan.routes.map((route) => [route.route, route.targetTable, route.resync, route.waits])).toEqual([
      ['orders-lite', 'orders', 'none', null],
      ['orders-my', 'orders', 'none', null],
      ['orders-pg', 'orders', 'none', null],
    ]);
    expect(await sourceTables()).toEqual(['orders']);
    expect((await pipeline.catalog.getRoute('orders-pg'))!.table).toBe('orders');
    expect(await pipeline.catalog.tableRenames.list('src')).toEqual([]);

    await pipeline.source.knex.raw('CREATE TABLE taken (id INT PRIMARY KEY)');
    await expect(setup.schemaChanges.alter('src', 'orders', 'RENAME TO taken', { dryRun: true })).rejects.toThrow(InvalidInputError);
    await expect(setup.schemaChanges.alter('src', 'orders', 'RENAME TO taken')).rejects.toThrow(/a table named taken already exists/);
    await setup.captureTable('src', 'taken');
    // Captured under that name at this source: the configuration refuses before the database is asked.
    await expect(setup.schemaChanges.alter('src', 'orders', 'RENAME TO taken')).rejects.toThrow(ConflictError);
    await setup.uncaptureTable('src', 'taken');
    await pipeline.source.knex.raw('DROP TABLE taken');
    await expect(setup.schemaChanges.alter('src', 'orders', 'ADD COLUMN note INT NULL, RENAME TO purchases')).rejects.toThrow(/an ALTER of its own/);
    expect(await sourceTables()).toEqual(['orders']);
  });

  it('carries the rename while the application writes: changes before it are applied after it, every target equal', async () => {
    const { source, setup } = pipeline;
    // Changes under the old name wait in the outbox across the rename.
    await worker!.kill('SIGKILL');
    await source.knex.raw("UPDATE orders SET status = 'void' WHERE id BETWEEN 1 AND 3");
    await source.knex.raw("INSERT INTO orders VALUES (31, 'open', 31)");

    // The application writes by name: once the table is renamed, it writes the new one.
    let table = 'orders';
    let stop = false;
    const writes = { orders: 0, purchases: 0 };
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await source.knex.raw(`UPDATE ${table} SET amount = amount + 1 WHERE id = ?`, [6 + (i % 10)]);
          writes[table as keyof typeof writes]++;
        } catch (error) {
          if (!/doesn't exist/.test(String(error))) throw error;
          table = 'purchases';
        }
        await sleep(5);
      }
    })();
    await sleep(200);
    const renamed = await setup.schemaChanges.alter('src', 'orders', 'RENAME TO purchases', { requestedBy: 'test' });
    await sleep(300);
    stop = true;
    await writer;
    expect(renamed.applied).toBe(true);
    expect(writes.orders).toBeGreaterThan(5);
    expect(writes.purchases).toBeGreaterThan(5);

    await source.knex.raw("INSERT INTO purchases VALUES (32, 'open', 32), (33, 'void', 33)");
    await source.knex.raw('DELETE FROM purchases WHERE id = 4');
    worker = pipeline.start('worker', env());
    await catchUp();
    await noDeadLetters();

    expect(await sourceTables()).toEqual(['purchases']);
    for (const id of ROUTES) expect((await pipeline.catalog.getRoute(id))!.table).toBe('purchases');
    expect((await pipeline.catalog.listCapturedTables('src')).map((captured) => captured.table)).toEqual(['purchases']);
    const [rename] = await pipeline.catalog.tableRenames.list('src');
    expect(rename).toMatchObject({ from: 'orders', to: 'purchases', requestedBy: 'test' });

    // Every target kept its table, and holds the source's rows (MySQL as its filter says).
    for (const id of ['pg', 'lite'] as const) {
      const compared = await pipeline.compare('purchases', targets[id], 'orders');
      expect({ id, rows: compared.target }).toEqual({ id, rows: compared.source });
      expect(compared.source).toHaveLength(32);
    }
    const my = await pipeline.compare('purchases', targets.my, 'orders');
    expect(my.target).toEqual(my.source.filter((row) => row.status !== 'void'));

    const session = await openRouteSession({ catalog: pipeline.catalog, progress: pipeline.progress }, 'orders-pg');
    try {
      expect(await verifyRoute(session, { settleRounds: 2, settleTimeoutMs: 10_000 })).toMatchObject({ missing: 0, extra: 0, different: 0 });
    } finally {
      await session.close();
    }
  }, 120_000);

  it('treats a new table that takes the freed name as another table, and keeps both apart after a restart', async () => {
    const { source, setup } = pipeline;
    await source.knex.raw('CREATE TABLE orders (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL)');
    await source.knex.raw("INSERT INTO orders VALUES (1, 'new one'), (2, 'new two')");
    await setup.captureTable('src', 'orders');
    await setup.routes.ensure({ id: 'new-orders-pg', sourceId: 'src', table: 'orders', targetId: 'pg', targetTable: 'orders_v2', enabled: true });
    // The relay learns of the new route when it starts again; the renamed table's routes go on from their checkpoints.
    await relay!.kill('SIGKILL');
    await source.knex.raw("INSERT INTO orders VALUES (3, 'new three')");
    await source.knex.raw('UPDATE purchases SET amount = amount + 100 WHERE id = 20');
    relay = pipeline.start('relay', env());
    await catchUp([...ROUTES, 'new-orders-pg']);
    await noDeadLetters();

    const renamedAtPg = await pipeline.compare('purchases', targets.pg, 'orders');
    expect(renamedAtPg.target).toEqual(renamedAtPg.source);
    // The new table's route has what was written to it since the route began (no initial copy asked for), nothing of the old table's.
    const rows = (await pipeline.postgres.knex.raw('SELECT id, label FROM orders_v2 ORDER BY id')).rows as Array<{ id: number; label: string }>;
    expect(rows).toEqual([{ id: 3, label: 'new three' }]);
  }, 120_000);
});

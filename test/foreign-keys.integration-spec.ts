import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { MysqlTarget, PostgresTarget, SqliteTarget, Target } from '@tributary/targets';
import { openRouteSession, verifyRoute } from '@tributary/verify';
import { createMysqlDatabase, createPipeline, Pipeline, sleep, TestDatabase } from '@tributary/testing';

const TABLES = ['customers', 'orders', 'order_lines', 'notes', 'employees'] as const;

const DDL = [
  'CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)',
  `CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL,
     CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE)`,
  `CREATE TABLE order_lines (order_id INT NOT NULL, line INT NOT NULL, sku VARCHAR(20) NOT NULL, PRIMARY KEY (order_id, line),
     CONSTRAINT fk_lines_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE)`,
  `CREATE TABLE notes (id INT PRIMARY KEY, customer_id INT NULL, body VARCHAR(40) NOT NULL,
     CONSTRAINT fk_notes_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL ON UPDATE SET NULL)`,
  `CREATE TABLE employees (id INT PRIMARY KEY, manager_id INT NULL, name VARCHAR(20) NOT NULL,
     CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES employees (id) ON DELETE CASCADE)`,
];

/**
 * Foreign-key actions at the source reach every target (issue #17):
 * customers with orders, order lines and notes, and a self-referencing
 * tree of employees, written from several connections while rows are
 * deleted (cascading two levels down, setting notes' customer NULL) and
 * customers renumbered (cascading to orders, setting notes NULL). The
 * targets — PostgreSQL, MySQL, SQLite, created by Tributary without
 * foreign keys — must end equal to the source, and verify must say so.
 */
describe('foreign-key cascades reach the targets', () => {
  let pipeline: Pipeline;
  let mysql: TestDatabase;
  let dir: string;
  const targets: Record<string, Target> = {};

  beforeAll(async () => {
    pipeline = await createPipeline();
    mysql = await createMysqlDatabase('trib_fk_my');
    dir = mkdtempSync(join(tmpdir(), 'trib-fk-'));
    const { source, setup } = pipeline;
    for (const statement of DDL) await source.knex.raw(statement);
    await setup.addSource('src', source.url);
    // Parents before children here (the capture spec does it the other way round).
    for (const table of TABLES) await setup.captureTable('src', table);
    const sqliteUrl = `sqlite://${join(dir, 'fk.db')}`;
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    await setup.addTarget({ id: 'my', kind: 'mysql', url: mysql.url, options: {} });
    await setup.addTarget({ id: 'lite', kind: 'sqlite', url: sqliteUrl, options: {} });
    for (const target of ['pg', 'my', 'lite']) {
      for (const table of TABLES) await setup.addRoute({ id: `${table}-${target}`, sourceId: 'src', table, targetId: target, targetTable: table, enabled: true });
    }
    targets.pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
    targets.my = new MysqlTarget({ kind: 'mysql', url: mysql.url });
    targets.lite = new SqliteTarget({ kind: 'sqlite', url: sqliteUrl });
  });

  afterAll(async () => {
    await Promise.all(Object.values(targets).map((target) => target.close()));
    await pipeline?.teardown();
    await mysql?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ends with every target equal to the source after concurrent cascades of every kind, and verify finds nothing', async () => {
    const env = { SQLITE_DIR: dir };
    pipeline.start('relay', env);
    pipeline.start('worker', env);
    let stop = false;
    const stats = { cascades: 0, renumbered: 0, trees: 0, failed: 0 };
    const writers = Array.from({ length: 3 }, (_, writer) => writeShop(pipeline.source.url, writer, () => stop, stats));
    await sleep(6000);
    stop = true;
    await Promise.all(writers);
    expect(stats.cascades).toBeGreaterThan(10);
    expect(stats.renumbered).toBeGreaterThan(5);
    expect(stats.trees).toBeGreaterThan(5);

    for (const target of ['pg', 'my', 'lite']) for (const table of TABLES) await pipeline.waitForCatchUp(`${table}-${target}`, 60_000);
    for (const [id, target] of Object.entries(targets)) {
      for (const table of TABLES) {
        const { source, target: rows } = await pipeline.compare(table, target, table);
        expect({ id, table, rows: rows.length, equal: JSON.stringify(rows) === JSON.stringify(source) }).toEqual({ id, table, rows: source.length, equal: true });
      }
    }
    // The source still has rows of every table: the comparison was not of empty tables.
    const [counts] = (await pipeline.source.knex.raw(`SELECT ${TABLES.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(', ')}`)) as [Array<Record<string, number>>, unknown];
    for (const table of TABLES) expect({ table, some: Number(counts[0][table]) > 0 }).toEqual({ table, some: true });

    for (const table of ['orders', 'order_lines', 'employees']) {
      const session = await openRouteSession({ catalog: pipeline.catalog, progress: pipeline.progress }, `${table}-pg`);
      try {
        expect(await verifyRoute(session, { settleRounds: 2, settleTimeoutMs: 10_000 })).toMatchObject({ missing: 0, extra: 0, different: 0 });
      } finally {
        await session.close();
      }
    }
  }, 180_000);
});

/**
 * One writer of the shop: new customers with orders, lines and notes;
 * deletes of customers (cascading to orders and lines, notes set NULL);
 * customers renumbered (orders follow, notes set NULL); small trees of
 * employees, and deletes of their tops. Ids are the writer's own, so
 * writers meet only in locks.
 */
async function writeShop(url: string, writer: number, stop: () => boolean, stats: { cascades: number; renumbered: number; trees: number; failed: number }): Promise<void> {
  const connection = await createConnection({ uri: url });
  const base = (writer + 1) * 1_000_000;
  let next = 0;
  const id = () => base + ++next;
  const customers: number[] = [];
  try {
    while (!stop()) {
      try {
        const dice = Math.random();
        if (dice < 0.45 || customers.length < 3) {
          const customer = id();
          await connection.query('BEGIN');
          await connection.query('INSERT INTO customers VALUES (?, ?)', [customer, `c${customer % 1000}`]);
          for (let o = 0; o < 2; o++) {
            const order = id();
            await connection.query('INSERT INTO orders VALUES (?, ?, ROUND(RAND() * 100, 2))', [order, customer]);
            await connection.query('INSERT INTO order_lines VALUES (?, 1, ?), (?, 2, ?)', [order, 'a', order, 'b']);
          }
          await connection.query('INSERT INTO notes VALUES (?, ?, ?)', [id(), customer, 'hello']);
          await connection.query('COMMIT');
          customers.push(customer);
        } else if (dice < 0.65) {
          const customer = customers.splice(Math.floor(Math.random() * customers.length), 1)[0];
          await connection.query('DELETE FROM customers WHERE id = ?', [customer]);
          stats.cascades++;
        } else if (dice < 0.8) {
          const at = Math.floor(Math.random() * customers.length);
          const renumbered = id();
          await connection.query('UPDATE customers SET id = ? WHERE id = ?', [renumbered, customers[at]]);
          customers[at] = renumbered;
          stats.renumbered++;
        } else {
          // A top, two under it, one under each of those; then the top goes, and the whole tree with it.
          const top = id();
          const [a, b] = [id(), id()];
          await connection.query('INSERT INTO employees VALUES (?, NULL, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?)', [top, 'top', a, top, 'a', b, top, 'b', id(), a, 'a1', id(), b, 'b1']);
          stats.trees++;
          if (Math.random() < 0.7) await connection.query('DELETE FROM employees WHERE id = ?', [top]);
        }
      } catch {
        await connection.query('ROLLBACK').catch(() => undefined);
        stats.failed++;
      }
    }
  } finally {
    await connection.end();
  }
}

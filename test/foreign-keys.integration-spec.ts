import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MysqlTarget, PostgresTarget, SqliteTarget, Target } from '@tributary/targets';
import { openRouteSession, verifyRoute } from '@tributary/verify';
import { createMysqlDatabase, createPipeline, Pipeline, SHOP_DDL, SHOP_TABLES, sleep, TestDatabase, writeShop } from '@tributary/testing';

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
    for (const statement of SHOP_DDL) await source.knex.raw(statement);
    await setup.addSource('src', source.url);
    // Parents before children here (the capture spec does it the other way round).
    for (const table of SHOP_TABLES) await setup.captureTable('src', table);
    const sqliteUrl = `sqlite://${join(dir, 'fk.db')}`;
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    await setup.addTarget({ id: 'my', kind: 'mysql', url: mysql.url, options: {} });
    await setup.addTarget({ id: 'lite', kind: 'sqlite', url: sqliteUrl, options: {} });
    for (const target of ['pg', 'my', 'lite']) {
      for (const table of SHOP_TABLES) await setup.addRoute({ id: `${table}-${target}`, sourceId: 'src', table, targetId: target, targetTable: table, enabled: true });
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

    for (const target of ['pg', 'my', 'lite']) for (const table of SHOP_TABLES) await pipeline.waitForCatchUp(`${table}-${target}`, 60_000);
    for (const [id, target] of Object.entries(targets)) {
      for (const table of SHOP_TABLES) {
        const { source, target: rows } = await pipeline.compare(table, target, table);
        expect({ id, table, rows: rows.length, equal: JSON.stringify(rows) === JSON.stringify(source) }).toEqual({ id, table, rows: source.length, equal: true });
      }
    }
    // The source still has rows of every table: the comparison was not of empty tables.
    const [counts] = (await pipeline.source.knex.raw(`SELECT ${SHOP_TABLES.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(', ')}`)) as [Array<Record<string, number>>, unknown];
    for (const table of SHOP_TABLES) expect({ table, some: Number(counts[0][table]) > 0 }).toEqual({ table, some: true });

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

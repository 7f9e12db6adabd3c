import { ConflictError } from '@tributary/setup';
import { PostgresTarget } from '@tributary/targets';
import { openRouteSession, repairRoute, verifyRoute } from '@tributary/verify';
import {
  compareTables,
  createMysqlDatabase,
  createPipeline,
  ITEMS_DDL,
  Pipeline,
  runItemsWorkload,
  sleep,
  TestDatabase,
} from '@tributary/testing';

/**
 * Fan-in (issue #14): three shops, each its own MariaDB with the same `items`
 * table and the same ids, consolidated into one PostgreSQL table whose key
 * is (id, shop) — a computed key column of value `source`, so rows of
 * different sources never share a key and each row's seq guard is its own
 * source's. Under concurrent writers and kills of relay and worker, the
 * target must hold exactly the union of the shops.
 */
describe('fan-in: several sources into one target table', () => {
  let pipeline: Pipeline;
  let pg: PostgresTarget;
  const shops: Array<{ id: string; db: TestDatabase }> = [];
  const mapping = { computed: [{ name: 'shop', value: 'source', key: true }] };
  const routeOf = (shop: string) => ({ id: `${shop}-all`, sourceId: shop, table: 'items', targetId: 'pg', targetTable: 'items_all', mapping });

  beforeAll(async () => {
    pipeline = await createPipeline();
    shops.push({ id: 'shop1', db: pipeline.source }, { id: 'shop2', db: await createMysqlDatabase('trib_src') }, { id: 'shop3', db: await createMysqlDatabase('trib_src') });
    await pipeline.setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    for (const shop of shops) {
      await shop.db.knex.raw(ITEMS_DDL);
      await pipeline.setup.addSource(shop.id, shop.db.url);
      await pipeline.setup.captureTable(shop.id, 'items');
    }
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
  });

  afterAll(async () => {
    await pg?.close();
    await pipeline?.teardown();
    await Promise.all(shops.slice(1).map((shop) => shop.db.drop()));
  });

  it('refuses a second source into a table unless every route keys it by source', async () => {
    await pipeline.setup.routes.create(routeOf('shop1'));
    await expect(pipeline.setup.routes.create({ ...routeOf('shop2'), mapping: null })).rejects.toThrow(ConflictError);
    await expect(pipeline.setup.routes.create({ ...routeOf('shop2'), mapping: null })).rejects.toThrow(
      /route shop1-all already writes table items_all of target pg from source shop1: a row of one source would be replaced by the row of another with the same key/,
    );
    await pipeline.setup.routes.create(routeOf('shop2'));
    // A route that drops its source key column would let its rows collide with the others'.
    await expect(pipeline.setup.routes.update('shop2-all', { mapping: null })).rejects.toThrow(ConflictError);
    await pipeline.setup.routes.create(routeOf('shop3'));
  });

  it('consolidates three shops writing the same ids at once, through kills of relay and worker; verify finds every row', async () => {
    // Rows before the routes run: each route's initial copy brings its shop's.
    await Promise.all(shops.map((shop) => runItemsWorkload(shop.db.url, { connections: 1, transactionsPerConnection: 40, keySpace: 60 })));
    let relay = pipeline.start('relay');
    let worker = pipeline.start('worker');
    let stop = false;
    const load = Promise.all(shops.map((shop) => runItemsWorkload(shop.db.url, { connections: 2, transactionsPerConnection: 100_000, keySpace: 60, stop: () => stop })));
    await sleep(2000);
    await relay.kill('SIGKILL');
    relay = pipeline.start('relay');
    await sleep(2000);
    await worker.kill('SIGKILL');
    worker = pipeline.start('worker');
    await sleep(2000);
    stop = true;
    const stats = await load;
    expect(stats.every((s) => s.committed > 10)).toBe(true);

    for (const shop of shops) await catchUp(shop);
    let total = 0;
    for (const shop of shops) {
      // One shop's rows at the target, as a view with the source table's columns (DDL takes no parameters; the ids are ours).
      await pipeline.postgres.knex.raw(`CREATE OR REPLACE VIEW items_${shop.id} AS SELECT id, grp, name, amount, noted, payload FROM items_all WHERE shop = '${shop.id}'`);
      const { source, target } = await compareTables(shop.db, 'items', pg, `items_${shop.id}`);
      expect(source.length).toBeGreaterThan(0);
      expect(target).toEqual(source);
      total += source.length;
    }
    const [{ count }] = await pipeline.postgres.knex('items_all').count({ count: '*' });
    expect(Number(count)).toBe(total);
    // The same ids from several shops: the consolidation kept them apart.
    const [{ shared }] = (await pipeline.postgres.knex.raw('SELECT COUNT(*) AS shared FROM (SELECT id FROM items_all GROUP BY id HAVING COUNT(*) > 1) AS s')).rows;
    expect(Number(shared)).toBeGreaterThan(0);

    const session = await openRouteSession({ catalog: pipeline.catalog, progress: pipeline.progress }, 'shop2-all');
    const fast = { settleRounds: 2, settleTimeoutMs: 10_000 };
    try {
      // Its own rows (shop = shop2) are looked for as extras too; the other shops' are theirs.
      const clean = await verifyRoute(session, fast);
      expect(clean).toMatchObject({ missing: 0, extra: 0, different: 0, extrasChecked: true });
      const [{ mine }] = (await pipeline.postgres.knex.raw("SELECT COUNT(*) AS mine FROM items_all WHERE shop = 'shop2'")).rows;
      expect(clean.targetRows).toBe(Number(mine));
      // A row of shop2 that shop2 does not have is extra, and repair removes exactly it.
      await pipeline.postgres.knex.raw("INSERT INTO items_all (id, shop, grp, name) VALUES (999999, 'shop2', 1, 'stray'), (999999, 'shop1', 1, 'stray')");
      expect(await verifyRoute(session, fast)).toMatchObject({ missing: 0, extra: 1, different: 0 });
      expect(await repairRoute(session, { ...fast, applyTimeoutMs: 60_000 })).toMatchObject({ status: 'repaired', after: { missing: 0, extra: 0, different: 0 } });
      const strays = (await pipeline.postgres.knex.raw('SELECT shop FROM items_all WHERE id = 999999 ORDER BY shop')).rows;
      expect(strays).toEqual([{ shop: 'shop1' }]);
      await pipeline.postgres.knex.raw('DELETE FROM items_all WHERE id = 999999');
    } finally {
      await session.close();
    }
  }, 180_000);

  /** Waits until the shop's route has applied everything its outbox holds. */
  async function catchUp(shop: { id: string; db: TestDatabase }): Promise<void> {
    const [rows] = await shop.db.knex.raw('SELECT COALESCE(MAX(seq), 0) AS m FROM _tributary_outbox');
    const max = Number((rows as Array<{ m: number }>)[0].m);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const [route] = await pipeline.progress.listProgress([`${shop.id}-all`]);
      if (route && route.watermark >= max) return;
      if (Date.now() > deadline) throw new Error(`route ${shop.id}-all did not apply through seq ${max}\n${pipeline.logs()}`);
      await sleep(200);
    }
  }
});

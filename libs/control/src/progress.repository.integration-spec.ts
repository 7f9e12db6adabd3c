import { Knex } from 'knex';
import { migrateControl } from '@tributary/db';
import { feedIdsOf } from '@tributary/model';
import { createMysqlDatabase, TestDatabase } from '@tributary/testing';
import { CatalogRepository } from './catalog.repository';
import { openMysql } from './control-database';
import { ProgressRepository } from './progress.repository';
import { RouteRecord } from './types';

/** A partitioned route's progress: kept per partition, read per route, re-cut without skipping anything. */
describe('ProgressRepository and partitions (MariaDB)', () => {
  let database: TestDatabase;
  let knex: Knex;
  let catalog: CatalogRepository;
  let progress: ProgressRepository;
  // '_' is a LIKE wildcard: the clean-up of a route's partition rows must not take another route's.
  const route: RouteRecord = { id: 'orders_pg', sourceId: 'shop', table: 'orders', targetId: 'pg', targetTable: 'orders', enabled: true, partitions: 2 };
  const lookalike: RouteRecord = { ...route, id: 'ordersxpg', partitions: 2 };
  const applied = (watermark: number, count: number) => ({ watermark, maxSeq: watermark, count, lastChangeTs: watermark * 10 });

  beforeAll(async () => {
    database = await createMysqlDatabase('trib_prog');
    knex = openMysql(database.url);
    await migrateControl(knex);
    catalog = new CatalogRepository(knex);
    progress = new ProgressRepository(knex);
    await knex('tributary_relay_state').insert({ source_id: 'shop', epoch: 1, watermark: 100, high: 100, holes: '[]' });
  });

  afterAll(async () => {
    await knex?.destroy();
    await database?.drop();
  });

  it('starts every partition of a new route at the relay, and reads the route as its lowest partition', async () => {
    expect(await catalog.insertRoute(route)).toBe(true);
    expect(await catalog.insertRoute(lookalike)).toBe(true);
    expect(await progress.feedWatermarks(feedIdsOf('orders_pg', 2))).toEqual(new Map([['orders_pg.p0of2', 100], ['orders_pg.p1of2', 100]]));

    await progress.recordApplied('orders_pg.p0of2', applied(150, 30));
    await progress.recordApplied('orders_pg.p1of2', applied(120, 12));
    await progress.recordRouteError('orders_pg.p1of2', 'target down');
    const [read] = await progress.listProgress(['orders_pg']);
    expect(read).toMatchObject({ routeId: 'orders_pg', watermark: 120, maxSeq: 150, appliedTotal: 42, lastChangeTs: 1500, lastError: 'target down' });
    expect(read.partitions?.map((p) => [p.routeId, p.watermark])).toEqual([
      ['orders_pg.p0of2', 150],
      ['orders_pg.p1of2', 120],
    ]);
    // The partition that failed applies again: its error is gone, and with it the route's.
    await progress.recordApplied('orders_pg.p1of2', applied(160, 1));
    expect((await progress.listProgress(['orders_pg']))[0]).toMatchObject({ watermark: 150, lastError: null });
  });

  it('re-cuts a route: the new partitions start at the old ones\' lowest, totals carry over, the old rows go', async () => {
    await catalog.updateRoute('orders_pg', { partitions: 3 });
    expect(await progress.feedWatermarks([...feedIdsOf('orders_pg', 2), ...feedIdsOf('orders_pg', 3)])).toEqual(
      new Map(feedIdsOf('orders_pg', 3).map((feed) => [feed, 150])),
    );
    const [read] = await progress.listProgress(['orders_pg']);
    expect(read).toMatchObject({ watermark: 150, appliedTotal: 43, maxSeq: 160 });
    // A late job of the old cut finds no row to move, and brings none back.
    await progress.recordApplied('orders_pg.p0of2', applied(500, 5));
    await progress.recordRouteError('orders_pg.p0of2', 'late');
    expect((await progress.feedWatermarks(['orders_pg.p0of2'])).size).toBe(0);
    // The look-alike route's rows were not touched.
    expect((await progress.feedWatermarks(feedIdsOf('ordersxpg', 2))).size).toBe(2);

    await catalog.updateRoute('orders_pg', { partitions: 1 });
    expect((await progress.listProgress(['orders_pg']))[0]).toMatchObject({ routeId: 'orders_pg', watermark: 150, appliedTotal: 43 });
    expect((await progress.listProgress(['orders_pg']))[0].partitions).toBeUndefined();
  });

  it('reads a route with a partition that has no row yet as having applied nothing', async () => {
    await catalog.updateRoute('orders_pg', { partitions: 2 });
    await knex('tributary_route_progress').where({ route_id: 'orders_pg.p1of2' }).delete();
    expect((await progress.listProgress(['orders_pg']))[0].watermark).toBe(0);
    // Re-cut from there: every new partition starts from 0 rather than past what the missing one owed.
    await catalog.updateRoute('orders_pg', { partitions: 4 });
    expect(new Set((await progress.feedWatermarks(feedIdsOf('orders_pg', 4))).values())).toEqual(new Set([0]));
  });

  it('deletes every progress row of a route, its partitions\' too, and only its own', async () => {
    await catalog.deleteRoute('orders_pg');
    const left = (await knex('tributary_route_progress').select('route_id')).map((row: { route_id: string }) => row.route_id).sort();
    expect(left).toEqual(feedIdsOf('ordersxpg', 2));
  });
});

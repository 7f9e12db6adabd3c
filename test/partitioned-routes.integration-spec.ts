import { feedIdsOf } from '@tributary/model';
import { InvalidInputError } from '@tributary/setup';
import { PostgresTarget } from '@tributary/targets';
import { AppProcess, createPipeline, ITEMS_DDL, Pipeline, runItemsWorkload, sleep } from '@tributary/testing';

/**
 * A route cut into partitions by key hash: two workers apply its partitions
 * side by side. Per-row order and the seq guard must hold through the random
 * workload (key changes move rows between partitions), worker crashes, and a
 * change of the number of partitions while writes go on; the route's
 * progress is its partitions' lowest.
 */
describe('partitioned routes', () => {
  let pipeline: Pipeline;
  let pg: PostgresTarget;

  beforeAll(async () => {
    pipeline = await createPipeline();
    await pipeline.source.knex.raw(ITEMS_DDL);
    await pipeline.setup.addSource('src', pipeline.source.url);
    await pipeline.setup.captureTable('src', 'items');
    await pipeline.source.knex.raw(ITEMS_DDL.replace('CREATE TABLE items', 'CREATE TABLE items_b'));
    await pipeline.setup.captureTable('src', 'items_b');
    await pipeline.setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
  });

  afterAll(async () => {
    await pg?.close();
    await pipeline?.teardown();
  });

  it('refuses a number of partitions out of range, and partitions beside a conflict policy', async () => {
    const route = { id: 'bad', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items_bad' };
    for (const partitions of [0, 65, 1.5, '2']) {
      await expect(pipeline.setup.routes.create({ ...route, partitions })).rejects.toThrow(InvalidInputError);
    }
    await expect(pipeline.setup.routes.create({ ...route, partitions: 2, conflictPolicy: { resolution: 'source-wins' } })).rejects.toThrow(
      /partitions: a route with a conflict policy cannot be partitioned/,
    );
    expect(await pipeline.catalog.getRoute('bad')).toBeNull();

    // Partitions write their own keys of the target table side by side: no other route may write it.
    const shared = { sourceId: 'src', targetId: 'pg', targetTable: 'shared', initialCopy: false };
    await pipeline.setup.routes.create({ ...shared, id: 'share-a', table: 'items' });
    await expect(pipeline.setup.routes.create({ ...shared, id: 'share-b', table: 'items_b', shareTargetTable: true, partitions: 2 })).rejects.toThrow(
      /route share-a already writes table shared of target pg, and route share-b is partitioned: a partitioned route cannot share its target table/,
    );
    await pipeline.setup.routes.create({ ...shared, id: 'share-b', table: 'items_b', shareTargetTable: true });
    await expect(pipeline.setup.routes.update('share-a', { partitions: 2 })).rejects.toThrow(/a partitioned route cannot share its target table/);
    expect((await pipeline.catalog.getRoute('share-a'))?.partitions).toBe(1);
    for (const id of ['share-a', 'share-b']) await pipeline.setup.routes.delete(id);
  });

  it('copies the rows the table has and applies the random workload on two workers through crashes and a new number of partitions; the target ends equal', async () => {
    // Rows before the route: its initial copy's chunks reach both partitions, each applying its keys.
    await runItemsWorkload(pipeline.source.url, { connections: 2, transactionsPerConnection: 60, keySpace: 120 });
    await pipeline.setup.routes.create({ id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg', partitions: 2 });
    // A filter turns some key moves into an insert or a delete of one key: such batches must still take the whole table.
    await pipeline.setup.routes.create({ id: 'low-pg', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items_low', filter: 'grp < 3', partitions: 2 });
    // Every partition has its progress from the start: the route's watermark is never one partition's alone.
    expect((await pipeline.progress.feedWatermarks(feedIdsOf('items-pg', 2))).size).toBe(2);
    pipeline.start('relay');
    const workers: AppProcess[] = [pipeline.start('worker'), pipeline.start('worker')];

    let stop = false;
    const load = runItemsWorkload(pipeline.source.url, { connections: 3, transactionsPerConnection: 100_000, keySpace: 120, stop: () => stop });
    await sleep(2500);
    // A crash mid-batch: the other worker takes the partitions on while the lock of the dead one's job runs out.
    await workers.shift()!.kill('SIGKILL');
    workers.push(pipeline.start('worker'));
    await sleep(2500);
    // Cut anew while writes go on: the three new partitions start where the two old ones had all got to.
    await pipeline.setup.routes.update('items-pg', { partitions: 3 });
    await sleep(2500);
    await workers.shift()!.kill('SIGKILL');
    workers.push(pipeline.start('worker'));
    await sleep(2000);
    stop = true;
    const stats = await load;
    expect(stats.committed).toBeGreaterThan(50);

    await pipeline.waitForCatchUp('items-pg', 90_000);
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(source.length).toBeGreaterThan(0);
    expect(target).toEqual(source);
    await pipeline.waitForCatchUp('low-pg', 90_000);
    const low = await pipeline.compare('items', pg, 'items_low');
    expect(low.target).toEqual(low.source.filter((row) => Number(row.grp) < 3));

    // Each new partition applied changes of its own, and has its own checkpoint at the target.
    const [progress] = await pipeline.progress.listProgress(['items-pg']);
    expect(progress.partitions?.map((p) => p.routeId)).toEqual(feedIdsOf('items-pg', 3));
    expect(progress.watermark).toBe(Math.min(...progress.partitions!.map((p) => p.watermark)));
    for (const feed of feedIdsOf('items-pg', 3)) expect((await pg.readCheckpoint(feed))?.watermark).toBeGreaterThan(0);
    // The old partitions' rows are gone: nothing holds the purge or a wait back.
    expect((await pipeline.progress.feedWatermarks(feedIdsOf('items-pg', 2))).size).toBe(0);
  }, 180_000);

  it('a route cut back into one stream follows on from its partitions', async () => {
    await pipeline.setup.routes.update('items-pg', { partitions: 1 });
    await pipeline.source.knex.raw("UPDATE items SET name = CONCAT(name, '!') ORDER BY id LIMIT 20");
    await pipeline.source.knex.raw("INSERT INTO items (id, grp, name) VALUES (900001, 1, 'after'), (900002, 2, 'after')");
    await pipeline.waitForCatchUp('items-pg', 60_000);
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(target).toEqual(source);
    const [progress] = await pipeline.progress.listProgress(['items-pg']);
    expect(progress.partitions).toBeUndefined();
  }, 90_000);

  it('pauses and resumes a partitioned route as a whole', async () => {
    await pipeline.setup.routes.update('items-pg', { partitions: 2 });
    await pipeline.waitForCatchUp('items-pg', 30_000);
    await pipeline.setup.routes.update('items-pg', { enabled: false });
    await sleep(500); // the relay and workers see the pause (CONFIG_REFRESH_MS is 200 here)
    await pipeline.source.knex.raw("INSERT INTO items (id, grp, name) VALUES (910001, 1, 'paused'), (910002, 2, 'paused'), (910003, 3, 'paused')");
    await sleep(1500);
    expect(await pipeline.postgres.knex('items').whereIn('id', [910001, 910002, 910003])).toEqual([]);
    await pipeline.setup.routes.update('items-pg', { enabled: true });
    await pipeline.waitForCatchUp('items-pg', 30_000);
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(target).toEqual(source);
  }, 90_000);
});

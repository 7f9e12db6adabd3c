import { PostgresTarget } from '@tributary/targets';
import { AppProcess, createPipeline, ITEMS_DDL, Pipeline, proxyInFrontOf, runItemsWorkload, TcpProxy } from '@tributary/testing';

/**
 * A route whose target is down keeps its own position while the others go
 * on; when the relay is killed meanwhile, the new leader re-derives what that
 * route is owed from its durable checkpoint (a catch-up read of the outbox
 * headers, past another table's rows), and once the target is back the route
 * equals its source — and so does every other route.
 */
describe('a lagging route across a relay crash', () => {
  let pipeline: Pipeline;
  let proxy: TcpProxy;
  let pg: PostgresTarget;
  let relay: AppProcess;

  beforeAll(async () => {
    pipeline = await createPipeline();
    const sick = await proxyInFrontOf(pipeline.postgres.url);
    proxy = sick.proxy;
    const { source, postgres, setup } = pipeline;
    await source.knex.raw(ITEMS_DDL);
    await source.knex.raw('CREATE TABLE notes (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, body VARCHAR(64) NOT NULL)');
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 'items');
    await setup.captureTable('src', 'notes');
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: postgres.url, options: {} });
    await setup.addTarget({ id: 'pg-sick', kind: 'postgres', url: sick.url, options: {} });
    await setup.addRoute({ id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items', enabled: true });
    await setup.addRoute({ id: 'notes-pg', sourceId: 'src', table: 'notes', targetId: 'pg', targetTable: 'notes', enabled: true });
    await setup.addRoute({ id: 'items-sick', sourceId: 'src', table: 'items', targetId: 'pg-sick', targetTable: 'items_copy', enabled: true });
    pg = new PostgresTarget({ kind: 'postgres', url: postgres.url });
    // Small batches and reads, so the lagging route's work spans many jobs and reads.
    const env = { JOB_MAX_ROWS: '50', RELAY_BATCH_ROWS: '500' };
    relay = pipeline.start('relay', env);
    pipeline.start('worker', env);
  });

  afterAll(async () => {
    await pg?.close();
    await proxy?.down();
    await pipeline?.teardown();
  });

  async function writeNotes(count: number): Promise<void> {
    for (let i = 0; i < count; i += 500) {
      const rows = Array.from({ length: Math.min(500, count - i) }, (_, j) => `('note ${i + j}')`).join(', ');
      await pipeline.source.knex.raw(`INSERT INTO notes (body) VALUES ${rows}`);
    }
  }

  it('catches up exactly after its target returns, though the relay died while it lagged', async () => {
    await pipeline.source.knex.raw("INSERT INTO items VALUES (1, 0, 'before', 1.00, NOW(6), NULL)");
    for (const route of ['items-pg', 'items-sick']) await pipeline.waitForCatchUp(route);

    await proxy.down();
    await Promise.all([runItemsWorkload(pipeline.source.url, { connections: 2, transactionsPerConnection: 60, keySpace: 50 }), writeNotes(3000)]);
    // The others go on while items-sick is down.
    for (const route of ['items-pg', 'notes-pg']) await pipeline.waitForCatchUp(route);
    const [lagging] = await pipeline.progress.listProgress(['items-sick']);
    const [latest] = await pipeline.progress.listProgress(['items-pg']);
    expect(lagging.watermark).toBeLessThan(latest.watermark);

    // The relay dies with the lagging route's pending ranges in memory only.
    await relay.kill('SIGKILL');
    relay = pipeline.start('relay', { JOB_MAX_ROWS: '50', RELAY_BATCH_ROWS: '500' });
    await Promise.all([runItemsWorkload(pipeline.source.url, { connections: 2, transactionsPerConnection: 40, keySpace: 50 }), writeNotes(2000)]);
    for (const route of ['items-pg', 'notes-pg']) await pipeline.waitForCatchUp(route);

    await proxy.up();
    for (const route of ['items-pg', 'notes-pg', 'items-sick']) await pipeline.waitForCatchUp(route);
    const items = await pipeline.compare('items', pg, 'items');
    expect(items.source.length).toBeGreaterThan(10);
    expect(items.target).toEqual(items.source);
    expect((await pipeline.compare('items', pg, 'items_copy')).target).toEqual(items.source);
    const notes = await pipeline.compare('notes', pg, 'notes');
    expect(notes.source).toHaveLength(5000);
    expect(notes.target).toEqual(notes.source);
    const letters = await pipeline.deadLetters.list('items-sick', { status: 'all', limit: 10 });
    expect(letters).toHaveLength(0);
  });
});

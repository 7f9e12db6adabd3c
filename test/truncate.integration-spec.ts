import { randomBytes } from 'node:crypto';
import { PostgresTarget } from '@tributary/targets';
import { adminClient, AppProcess, createPipeline, freePort, Pipeline, routeItemsToPostgres, waitFor } from '@tributary/testing';

interface Run {
  id: number;
  kind: string;
  status: string;
  requestedBy: string | null;
  extra: number;
}

const TOKEN = randomBytes(16).toString('hex');

/**
 * TRUNCATE TABLE fires no trigger (issue #17): the outbox never hears of it.
 * The admin notices the table's new InnoDB id, says so (status, metric) and
 * repairs the table's routes from the source, so the target loses the rows
 * the source lost — without a person. A rebuild that keeps its rows (OPTIMIZE)
 * costs a verify and changes nothing.
 */
describe('a captured table truncated behind Tributary\'s back', () => {
  let pipeline: Pipeline;
  let app: AppProcess;
  let port: number;
  let pg: PostgresTarget;
  const call = adminClient(() => `http://127.0.0.1:${port}`, TOKEN);
  const repairs = async () => (await call<Run[]>('GET', '/api/routes/items-pg/verify-runs')).json.filter((run) => run.kind === 'repair');

  beforeAll(async () => {
    pipeline = await createPipeline();
    await routeItemsToPostgres(pipeline);
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
    port = await freePort();
    app = pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => null))?.ok === true, { what: 'the admin to listen', timeoutMs: 30_000 });
  });

  afterAll(async () => {
    await pg?.close();
    await pipeline?.teardown();
  });

  it('repairs the route after a TRUNCATE: the target holds what the source holds, and status and metrics say what happened', async () => {
    for (let id = 1; id <= 30; id++) await pipeline.source.knex.raw('INSERT INTO items (id, grp, name) VALUES (?, 1, ?)', [id, `row ${id}`]);
    await pipeline.waitForCatchUp('items-pg');
    expect((await pipeline.compare('items', pg, 'items')).target).toHaveLength(30);
    // The admin has seen the table as it is (its first look records the id).
    await waitFor(async () => ((await pipeline.catalog.getCapturedTable('src', 'items'))?.innodbTableId ?? null) !== null, { what: 'the table id recorded' });

    await pipeline.source.knex.raw('TRUNCATE TABLE items');
    await pipeline.source.knex.raw("INSERT INTO items (id, grp, name) VALUES (100, 2, 'after'), (101, 2, 'after')");
    await waitFor(
      async () => {
        const { source, target } = await pipeline.compare('items', pg, 'items');
        return source.length === 2 && JSON.stringify(target) === JSON.stringify(source);
      },
      { what: 'the target to lose the truncated rows', timeoutMs: 60_000 },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
    });

    await waitFor(async () => (await repairs())[0]?.status !== 'running', { what: 'the repair run to finish' });
    const [repair] = await repairs();
    expect(repair).toMatchObject({ status: 'repaired', requestedBy: 'tributary: source table truncated or rebuilt', extra: 30 });
    const status = (await call<{ tableRebuiltAt: string | null; state: string }>('GET', '/api/routes/items-pg/status')).json;
    expect(status.tableRebuiltAt).not.toBeNull();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toMatch(/^tributary_source_table_rebuilds_total\{source="src",table="items"\} 1$/m);
  }, 120_000);

  it('verifies after a rebuild that kept the rows, and changes nothing', async () => {
    const before = (await repairs()).length;
    await pipeline.source.knex.raw('OPTIMIZE TABLE items');
    await waitFor(async () => (await repairs()).length > before && (await repairs())[0].status !== 'running', { what: 'a second repair to finish', timeoutMs: 60_000 });
    expect((await repairs())[0]).toMatchObject({ status: 'matched', extra: 0 });
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(target).toEqual(source);
  }, 90_000);
});

import { randomBytes } from 'node:crypto';
import { ProgressRepository } from '@tributary/control';
import { adminClient, createPipeline, freePort, ITEMS_DDL, Pipeline, sleep, waitFor } from '@tributary/testing';

/**
 * Configuration changes made through the admin API reach the running relay
 * and worker at once (announced over Redis pub/sub), not at their next
 * refresh: the compiled all-in-one app runs with CONFIG_REFRESH_MS at one
 * minute, so each step below could only pass within its few seconds if the
 * announcement was heard.
 */

const TOKEN = randomBytes(16).toString('hex');
const ROUTE = 'items-pg';
const REFRESH_MS = 60_000;
/** Far below REFRESH_MS: what "at once" must fit in. */
const SOON_MS = 10_000;

describe('config changes reach running apps at once', () => {
  let pipeline: Pipeline;
  let port: number;
  const call = adminClient(() => `http://127.0.0.1:${port}`, TOKEN);

  const targetIds = async () => (await pipeline.postgres.knex('items').select('id').orderBy('id')).map((row: { id: number }) => row.id);
  const insert = (id: number) => pipeline.source.knex.raw("INSERT INTO items VALUES (?, 0, 'x', 1.00, NOW(6), NULL)", [id]);

  beforeAll(async () => {
    pipeline = await createPipeline();
    await pipeline.source.knex.raw(ITEMS_DDL);
    await pipeline.postgres.knex.raw('CREATE TABLE items (id integer PRIMARY KEY, grp integer NOT NULL, name varchar(64) NOT NULL, amount numeric(12,2), noted timestamp(6), payload jsonb)');
    await pipeline.setup.addSource('src', pipeline.source.url);
    await pipeline.setup.captureTable('src', 'items');
    await pipeline.setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    port = await freePort();
    pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN, CONFIG_REFRESH_MS: String(REFRESH_MS) });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/live`)).ok, { what: 'the admin to listen', timeoutMs: 30_000 });
    // The relay has read the (empty) route list once at start; the next read is a minute away.
    const progress = new ProgressRepository(pipeline.control.knex);
    await waitFor(async () => Boolean((await progress.loadRelayState('src'))?.leader), { what: 'the relay to lead', timeoutMs: 30_000 });
  });

  afterAll(async () => {
    await pipeline?.teardown();
  });

  it('a route created through the API carries changes at once', async () => {
    // No initial copy: its copy records would make the relay read the route list by itself.
    const created = await call('POST', '/api/routes', { id: ROUTE, sourceId: 'src', table: 'items', targetId: 'pg', initialCopy: false });
    expect(created.status).toBe(201);
    await insert(1);
    await insert(2);
    await waitFor(async () => (await targetIds()).length === 2, { what: 'rows 1 and 2 at the target', timeoutMs: SOON_MS });
    expect(await targetIds()).toEqual([1, 2]);
  });

  it('a pause stops the route at once, and a resume restarts it at once', async () => {
    expect((await call('POST', `/api/routes/${ROUTE}/pause`)).status).toBe(200);
    await sleep(300); // the apps hear the announcement and read the route list in milliseconds; a minute without it
    await insert(3);
    // Without the announcement the route would still be fed for up to a minute: row 3 would land in milliseconds.
    await sleep(2000);
    expect(await targetIds()).toEqual([1, 2]);
    expect((await call('POST', `/api/routes/${ROUTE}/resume`)).status).toBe(200);
    await waitFor(async () => (await targetIds()).includes(3), { what: 'row 3 after the resume', timeoutMs: SOON_MS });
  });
});

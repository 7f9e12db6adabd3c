import { ProgressRepository } from '@tributary/control';
import { createPipeline, Pipeline, routeItemsToPostgres, sleep, waitFor } from '@tributary/testing';

/**
 * A leading relay that is stopped on purpose (SIGTERM: a rolling restart, a
 * scale-down) tells the standby relays, which take the lead at once. Both
 * run with RELAY_LEADER_RETRY_MS at one minute, so the standby could only
 * lead within the few seconds below if it heard the announcement.
 */

const RETRY_MS = 60_000;
const SOON_MS = 10_000;

describe('a relay that stops hands the lead over at once', () => {
  let pipeline: Pipeline;
  let progress: ProgressRepository;

  beforeAll(async () => {
    pipeline = await createPipeline();
    await routeItemsToPostgres(pipeline);
    progress = new ProgressRepository(pipeline.control.knex);
  });

  afterAll(async () => {
    await pipeline?.teardown();
  });

  const leader = async () => (await progress.loadRelayState('src'))?.leader ?? null;

  it('the standby leads within seconds of the leader stopping, and replication goes on', async () => {
    const env = { RELAY_LEADER_RETRY_MS: String(RETRY_MS) };
    const first = pipeline.start('relay', env);
    await waitFor(async () => (await leader()) !== null, { what: 'the first relay to lead', timeoutMs: 30_000 });
    const firstLeader = await leader();
    const standby = pipeline.start('relay', { ...env, LOG_LEVEL: 'info' });
    pipeline.start('worker');
    await pipeline.source.knex.raw("INSERT INTO items VALUES (1, 0, 'before', 1.00, NOW(6), NULL)");
    await pipeline.waitForCatchUp('items-pg');
    // The standby has started and tried once (and failed: the source is led); its next try is a minute away.
    await waitFor(async () => standby.output().includes('relay starts for source'), { what: 'the standby to start', timeoutMs: 30_000 });
    await sleep(1000);
    expect(await leader()).toBe(firstLeader);

    expect(await first.kill('SIGTERM')).toBe(0);
    await waitFor(async () => {
      const now = await leader();
      return now !== null && now !== firstLeader;
    }, { what: 'the standby to take the lead', timeoutMs: SOON_MS });

    await pipeline.source.knex.raw("INSERT INTO items VALUES (2, 0, 'after', 2.00, NOW(6), NULL)");
    await pipeline.waitForCatchUp('items-pg');
    expect((await pipeline.postgres.knex('items').select('id').orderBy('id')).map((row: { id: number }) => row.id)).toEqual([1, 2]);
  });
});

import { Knex } from 'knex';
import { CatalogRepository, openMysql, ProgressRepository, VerifyRunRepository } from '@tributary/control';
import { migrateControl } from '@tributary/db';
import { createMysqlDatabase, TestDatabase } from '@tributary/testing';
import { RunBusyError } from './errors';
import { claimRun } from './run';
import { routeRunLocks } from './run-lock';

describe('one verify or repair per route across processes (real MariaDB)', () => {
  let control: TestDatabase;
  let knex: Knex;
  let runs: VerifyRunRepository;

  beforeAll(async () => {
    control = await createMysqlDatabase('trib_runlock');
    knex = openMysql(control.url);
    await migrateControl(knex);
    runs = new VerifyRunRepository(knex);
  });

  afterAll(async () => {
    await knex?.destroy();
    await control?.drop();
  });

  it('refuses a second run of a route while the first holds the lock, on another connection as from another process', async () => {
    // Two lock factories: like an admin and a CLI, each with its own connections.
    const deps = (locks = routeRunLocks(control.url)) => ({ catalog: new CatalogRepository(knex), progress: new ProgressRepository(knex), runs, locks });
    const first = await claimRun(deps(), 'r1', 'verify', 'admin');
    await expect(claimRun(deps(), 'r1', 'repair', 'cli')).rejects.toBeInstanceOf(RunBusyError);
    const other = await claimRun(deps(), 'r2', 'verify', 'cli'); // another route is not held back
    await other.release();
    await first.release();
    const next = await claimRun(deps(), 'r1', 'repair', 'cli');
    await next.release();
  });

  it('marks runs left running by a process that died as failed when the next run takes the lock', async () => {
    const orphan = await runs.create('r3', 'verify', 'crashed-admin'); // recorded running, nobody holds the lock
    const claim = await claimRun({ catalog: new CatalogRepository(knex), progress: new ProgressRepository(knex), runs, locks: routeRunLocks(control.url) }, 'r3', 'verify', 'cli');
    await claim.release();
    expect(await runs.get(orphan.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('interrupted') });
    expect((await runs.get(claim.run.id))?.status).toBe('running');
  });

  it('does not call a route busy while its last run has recorded its end and is letting the lock go', async () => {
    const deps = () => ({ catalog: new CatalogRepository(knex), progress: new ProgressRepository(knex), runs, locks: routeRunLocks(control.url) });
    const first = await claimRun(deps(), 'r4', 'verify', 'admin');
    await runs.finish(first.run.id, { status: 'matched', sourceRows: 0, targetRows: 0, missing: 0, extra: 0, different: 0, repaired: 0, sample: {} });
    // A client saw the run end and asks for the next one while the first still holds the lock for a moment.
    const releasing = new Promise((resolve) => setTimeout(resolve, 300)).then(() => first.release());
    const next = await claimRun(deps(), 'r4', 'repair', 'cli');
    await releasing;
    expect(next.run).toMatchObject({ routeId: 'r4', kind: 'repair', status: 'running' });
    await next.release();
  });
});

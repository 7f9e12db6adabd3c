import { CatalogRepository, SnapshotRepository } from '@tributary/control';
import { migrateControl } from '@tributary/db';
import { createLogger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { ReplicationSetup } from '@tributary/setup';
import { defaultTargetRegistry } from '@tributary/targets';
import { createMysqlDatabase, TestDatabase } from '@tributary/testing';
import { DriftMonitor } from './drift-monitor';

describe('DriftMonitor (real MariaDB)', () => {
  let control: TestDatabase;
  let source: TestDatabase;

  beforeAll(async () => {
    control = await createMysqlDatabase('trib_ctl');
    source = await createMysqlDatabase('trib_src');
    await migrateControl(control.knex);
  });

  afterAll(async () => {
    await source.drop();
    await control.drop();
  });

  it('flags a captured table altered after capture, and clears the flag once capture is re-installed', async () => {
    const catalog = new CatalogRepository(control.knex);
    const setup = new ReplicationSetup(catalog, defaultTargetRegistry(), new SnapshotRepository(control.knex));
    await source.knex.raw('CREATE TABLE t (id INT PRIMARY KEY, a INT)');
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 't');
    const metrics = new Metrics();
    const monitor = new DriftMonitor('src', source.knex, catalog, metrics, createLogger('silent'));
    const drift = async () => (await metrics.captureDrift.get()).values.find((v) => v.labels.table === 't')?.value;

    await monitor.check();
    expect(await drift()).toBe(0);
    await source.knex.raw('ALTER TABLE t ADD COLUMN b INT NULL');
    await monitor.check();
    expect(await drift()).toBe(1);
    await setup.captureTable('src', 't');
    await monitor.check();
    expect(await drift()).toBe(0);
  });
});

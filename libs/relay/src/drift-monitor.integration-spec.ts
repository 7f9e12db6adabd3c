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

  it('flags a captured table renamed behind its back, which adopting the rename clears, changes before and after it kept', async () => {
    const catalog = new CatalogRepository(control.knex);
    const setup = new ReplicationSetup(catalog, defaultTargetRegistry(), new SnapshotRepository(control.knex));
    await source.knex.raw('CREATE TABLE r (id INT PRIMARY KEY, a INT)');
    await setup.captureTable('src', 'r');
    const metrics = new Metrics();
    const monitor = new DriftMonitor('src', source.knex, catalog, metrics, createLogger('silent'));
    const drift = async (table: string) => (await metrics.captureDrift.get()).values.find((v) => v.labels.table === table)?.value;
    const outboxNames = async () => ((await source.knex.raw("SELECT table_name AS t FROM _tributary_outbox WHERE table_name IN ('r', 'r2') ORDER BY seq")) as [Array<{ t: string }>])[0].map((row) => row.t);

    await source.knex.raw('INSERT INTO r VALUES (1, 1)');
    await source.knex.raw('RENAME TABLE r TO r2');
    // The triggers went with the table: its writes are still captured, under the old name.
    await source.knex.raw('INSERT INTO r2 VALUES (2, 2)');
    await monitor.check();
    expect(await drift('r')).toBe(1);

    const planned = await setup.schemaChanges.adopt('src', 'r', {}, { dryRun: true });
    expect([planned.applied, planned.plan.tableRename]).toEqual([false, { from: 'r', to: 'r2' }]);
    await expect(setup.schemaChanges.adopt('src', 'r', { a: 'b' })).rejects.toThrow(/adopt the rename first/);
    const adopted = await setup.schemaChanges.adopt('src', 'r', {}, { requestedBy: 'test' });
    expect([adopted.applied, adopted.schema.table]).toEqual([true, 'r2']);
    await source.knex.raw('INSERT INTO r2 VALUES (3, 3)');
    expect(await outboxNames()).toEqual(['r', 'r', 'r2']);
    const [rename] = await catalog.tableRenames.list('src');
    const [rows] = (await source.knex.raw("SELECT seq, table_name AS t FROM _tributary_outbox WHERE table_name IN ('r', 'r2') ORDER BY seq")) as [Array<{ seq: number; t: string }>];
    // Every row under the old name is at or before the rename's position; the new name's after it.
    expect(rows.every((row) => (row.t === 'r' ? row.seq <= rename.at : row.seq > rename.at))).toBe(true);
    expect((await catalog.listCapturedTables('src')).map((table) => table.table)).toContain('r2');

    await monitor.check();
    expect(await drift('r')).toBeUndefined();
    expect(await drift('r2')).toBe(0);
  });
});

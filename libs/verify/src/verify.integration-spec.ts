import { CatalogRepository, openMysql, ProgressRepository, RouteRecord, SnapshotRepository, VerifyRunRepository } from '@tributary/control';
import { migrateControl } from '@tributary/db';
import { Row, RowChange } from '@tributary/model';
import { OutboxRepository } from '@tributary/outbox';
import { ReplicationSetup } from '@tributary/setup';
import { SourceTable } from '@tributary/snapshot';
import { defaultTargetRegistry, PostgresTarget } from '@tributary/targets';
import { createMysqlDatabase, createPostgresDatabase, TestDatabase } from '@tributary/testing';
import { Knex } from 'knex';
import { VerifyConfigError } from './errors';
import { routeExpectation } from './expectation';
import { openRouteSession, RouteSession } from './route-session';
import { recordAndRun } from './run';
import { verifyRoute } from './verifier';

/**
 * Verify against real databases, no processes: a captured MariaDB table, a
 * PostgreSQL target filled through the target's own apply (as the worker
 * would), then changed behind Tributary's back.
 */
const ITEMS_DDL = `CREATE TABLE items (
  id INT NOT NULL PRIMARY KEY,
  region VARCHAR(8) NOT NULL,
  amount DECIMAL(10,2) NULL,
  doc JSON NULL,
  tag VARBINARY(8) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

const PLAIN: RouteRecord = { id: 'items-all', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items_all', enabled: true };
const FILTERED: RouteRecord = {
  id: 'items-eu', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items_eu', enabled: true,
  filter: "region = 'EU'",
  mapping: { rename: { amount: 'total' }, computed: [{ name: 'changed_at', value: 'change_ts' }, { name: 'origin_db', value: 'source' }] },
};
const FAST = { chunkRows: 7, settleTimeoutMs: 2000, pollMs: 50 };

describe('verifyRoute: MariaDB source, PostgreSQL target', () => {
  let control: TestDatabase;
  let source: TestDatabase;
  let postgres: TestDatabase;
  let sourcePool: Knex;
  let catalog: CatalogRepository;
  let progress: ProgressRepository;
  let sessions: RouteSession[] = [];

  beforeAll(async () => {
    [control, source, postgres] = await Promise.all([createMysqlDatabase('trib_vctl'), createMysqlDatabase('trib_vsrc'), createPostgresDatabase('trib_vpg')]);
    await migrateControl(control.knex);
    catalog = new CatalogRepository(control.knex);
    progress = new ProgressRepository(control.knex);
    await source.knex.raw(ITEMS_DDL);
    const setup = new ReplicationSetup(catalog, defaultTargetRegistry(), new SnapshotRepository(control.knex));
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 'items');
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: postgres.url, options: {} });
    await setup.addRoute(PLAIN);
    await setup.addRoute(FILTERED);
    for (let id = 1; id <= 30; id++) {
      await source.knex.raw('INSERT INTO items VALUES (?, ?, ?, ?, ?)', [
        id, id % 3 === 0 ? 'US' : 'EU', id % 5 === 0 ? null : (id * 1.25).toFixed(2), id % 2 ? `{"n": ${id}, "a": [1, "x"], "z": {"k": true}}` : null, id % 4 ? Buffer.from([id, 0, 255]) : null,
      ]);
    }
    sourcePool = openMysql(source.url);
    await fillTarget(PLAIN);
    await fillTarget(FILTERED, (row) => ({ ...row, changed_at: '2001-02-03 04:05:06.000000' }));
    // Both routes have applied everything captured so far: differences found are not lag.
    const maxSeq = await new OutboxRepository(sourcePool).maxSeq();
    for (const route of [PLAIN, FILTERED]) await progress.recordApplied(route.id, { watermark: maxSeq, maxSeq, count: 0, lastChangeTs: null });
  }, 120_000);

  afterEach(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    sessions = [];
  });

  afterAll(async () => {
    await sourcePool?.destroy();
    await Promise.all([control?.drop(), source?.drop(), postgres?.drop()]);
  });

  /** Writes what the route should hold, through the target's own apply path (as the worker does). */
  async function fillTarget(route: RouteRecord, tweak: (row: Row) => Row = (row) => row): Promise<void> {
    const schema = (await catalog.getSchema('src', 'items', (await catalog.getCapturedTable('src', 'items'))!.schemaHash))!;
    const expectation = routeExpectation(route, schema);
    const table = new SourceTable(schema);
    const changes: RowChange[] = [];
    for (const image of await table.readRange(sourcePool, { after: null, upTo: null })) {
      const decoded = table.decode(image);
      const row = expectation.expected(decoded.row);
      if (row) changes.push({ seq: 1, op: 'insert', key: expectation.targetKeyOf(decoded.key), before: null, after: tweak(row) });
    }
    const target = new PostgresTarget({ kind: 'postgres', url: postgres.url });
    try {
      await target.ensureTable(expectation.spec);
      await target.apply({ routeId: route.id, table: expectation.spec, changes, watermark: 1, origin: 'tributary:src' }, { recordRejected: async () => undefined });
    } finally {
      await target.close();
    }
  }

  async function open(routeId: string): Promise<RouteSession> {
    const session = await openRouteSession({ catalog, progress }, routeId);
    sessions.push(session);
    return session;
  }

  it('matches a target that holds exactly the source rows (JSON reordered by jsonb, bytes, decimals)', async () => {
    const result = await verifyRoute(await open(PLAIN.id), FAST);
    expect(result).toMatchObject({ sourceRows: 30, targetRows: 30, missing: 0, extra: 0, different: 0, differences: [], repairKeys: [], settled: true });
  });

  it('ignores computed columns set by the change, and compares the filtered, mapped rows', async () => {
    const result = await verifyRoute(await open(FILTERED.id), FAST);
    expect(result).toMatchObject({ sourceRows: 20, targetRows: 20, missing: 0, extra: 0, different: 0, ignoredColumns: ['changed_at'], settled: true });
  });

  it('finds a row changed, a row deleted and a row added behind Tributary’s back, and only those', async () => {
    await postgres.knex.raw('UPDATE items_all SET amount = 999.99 WHERE id = 7');
    await postgres.knex.raw('DELETE FROM items_all WHERE id = 12');
    await postgres.knex.raw(`INSERT INTO items_all (id, region, amount, doc, tag) VALUES (500, 'EU', 1.00, NULL, NULL)`);
    try {
      const result = await verifyRoute(await open(PLAIN.id), FAST);
      expect(result).toMatchObject({ sourceRows: 30, targetRows: 30, missing: 1, extra: 1, different: 1, settled: true });
      const byKind = Object.fromEntries(result.differences.map((d) => [d.kind, d]));
      expect(byKind.different).toMatchObject({ key: { id: 7 }, columns: ['amount'], expected: { amount: '8.75' }, actual: { amount: '999.99' } });
      expect(byKind.missing).toMatchObject({ key: { id: 12 }, expected: { id: 12, region: 'US' }, actual: null });
      expect(byKind.extra).toMatchObject({ key: { id: 500 }, expected: null, actual: { id: 500 } });
      expect(result.repairKeys.map((k) => k.id).sort((a, b) => Number(a) - Number(b))).toEqual([7, 12, 500]);

      // The same, recorded as a run (what the admin and the CLI do).
      const { run } = await recordAndRun({ catalog, progress, runs: new VerifyRunRepository(control.knex) }, PLAIN.id, 'verify', 'test', FAST);
      expect(run).toMatchObject({ status: 'differs', kind: 'verify', requestedBy: 'test', missing: 1, extra: 1, different: 1, sourceRows: 30, targetRows: 30, error: null });
      expect((run.sample as { differences: unknown[]; settled: boolean }).differences).toHaveLength(3);
      expect(run.finishedAt).not.toBeNull();
    } finally {
      await postgres.knex.raw('DELETE FROM items_all WHERE id = 500');
    }
  });

  it('on a target table another route writes too, never calls a row the source lacks extra: it may be the other route\'s, and a repair would delete it', async () => {
    // Another route into items_all (e.g. a second shard's table with shareTargetTable), and a row it wrote.
    await catalog.upsertRoute({ id: 'shard-2', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items_all', enabled: false });
    await postgres.knex.raw(`INSERT INTO items_all (id, region, amount, doc, tag) VALUES (600, 'EU', 1.00, NULL, NULL)`);
    try {
      const shared = await verifyRoute(await open(PLAIN.id), FAST);
      expect(shared).toMatchObject({ extra: 0, extrasChecked: false });
      expect(shared.repairKeys.map((key) => key.id)).not.toContain(600);
      await catalog.deleteRoute('shard-2');
      // Alone again, the same row is extra: the check above could fail.
      const alone = await verifyRoute(await open(PLAIN.id), FAST);
      expect(alone).toMatchObject({ extra: 1, extrasChecked: true });
      expect(alone.repairKeys.map((key) => key.id)).toContain(600);
    } finally {
      await catalog.deleteRoute('shard-2');
      await postgres.knex.raw('DELETE FROM items_all WHERE id = 600');
    }
  });

  it('on a filtered route, counts a target row whose source row does not match the filter as extra, and a wrong source column as different', async () => {
    // id 3 is a US row: the route must not have it.
    await postgres.knex.raw(`INSERT INTO items_eu (id, region, total, doc, tag, changed_at, origin_db) VALUES (3, 'US', 3.75, NULL, NULL, NULL, 'src')`);
    await postgres.knex.raw(`UPDATE items_eu SET origin_db = 'elsewhere', changed_at = '1999-01-01' WHERE id = 4`);
    try {
      const result = await verifyRoute(await open(FILTERED.id), FAST);
      expect(result).toMatchObject({ sourceRows: 20, targetRows: 21, missing: 0, extra: 1, different: 1 });
      expect(result.differences.find((d) => d.kind === 'extra')).toMatchObject({ key: { id: 3 } });
      expect(result.differences.find((d) => d.kind === 'different')).toMatchObject({ key: { id: 4 }, columns: ['origin_db'] });
    } finally {
      await postgres.knex.raw('DELETE FROM items_eu WHERE id = 3');
      await postgres.knex.raw(`UPDATE items_eu SET origin_db = 'src' WHERE id = 4`);
    }
  });

  it('reports differences anyway, flagged as possible lag, when the route has not caught up', async () => {
    await source.knex.raw('UPDATE items SET amount = 0.01 WHERE id = 1'); // captured, never applied: nothing runs
    try {
      const started = Date.now();
      const result = await verifyRoute(await open(PLAIN.id), { ...FAST, settleTimeoutMs: 300 });
      expect(result.settled).toBe(false);
      expect(result.differences).toContainEqual(expect.objectContaining({ kind: 'different', key: { id: 1 }, actual: expect.objectContaining({ amount: '1.25' }) }));
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await source.knex.raw('UPDATE items SET amount = 1.25 WHERE id = 1');
      const maxSeq = await new OutboxRepository(sourcePool).maxSeq();
      await progress.recordApplied(PLAIN.id, { watermark: maxSeq, maxSeq, count: 0, lastChangeTs: null });
    }
  });

  it('refuses clearly a target that cannot be read back, and an unknown route', async () => {
    const session = await open(PLAIN.id);
    const webhook = defaultTargetRegistry().create({ kind: 'http', url: 'http://127.0.0.1:9/hook', options: { secret: 'not-used-here' } });
    try {
      await expect(verifyRoute({ ...session, target: webhook }, FAST)).rejects.toThrow(VerifyConfigError);
      await expect(verifyRoute({ ...session, target: webhook }, FAST)).rejects.toThrow(/cannot be read back/);
    } finally {
      await webhook.close();
    }
    await expect(openRouteSession({ catalog, progress }, 'nope')).rejects.toThrow('no route "nope"');
  });
});

import { Knex } from 'knex';
import { createConnection } from 'mysql2/promise';
import { CatalogRepository, openMysql, ProgressRepository, SnapshotRepository } from '@tributary/control';
import { migrateControl, migrateOutbox } from '@tributary/db';
import { createLogger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { OutboxRepository } from '@tributary/outbox';
import { LeaderLease } from '@tributary/runtime';
import { createMysqlDatabase, TestDatabase, uniqueName, waitFor } from '@tributary/testing';
import { installCapture } from '@tributary/capture';
import { SnapshotRunner } from './snapshot-runner';

/** The copier loop in-process, against real MariaDB: no relay or worker, the route's progress is written by hand. */
describe('SnapshotRunner (real MariaDB)', () => {
  let control: TestDatabase;
  let source: TestDatabase;
  let controlKnex: Knex;
  let sourceKnex: Knex;
  let catalog: CatalogRepository;
  let snapshots: SnapshotRepository;
  let progress: ProgressRepository;
  let metrics: Metrics;
  let runner: SnapshotRunner;

  beforeAll(async () => {
    control = await createMysqlDatabase('trib_runner_ctl');
    source = await createMysqlDatabase('trib_runner_src');
    controlKnex = openMysql(control.url);
    sourceKnex = openMysql(source.url);
    await migrateControl(controlKnex);
    await migrateOutbox(sourceKnex);
    catalog = new CatalogRepository(controlKnex);
    snapshots = new SnapshotRepository(controlKnex);
    progress = new ProgressRepository(controlKnex);
    metrics = new Metrics();
    await sourceKnex.raw('CREATE TABLE t (id INT PRIMARY KEY, region CHAR(2) NOT NULL)');
    await sourceKnex.raw("INSERT INTO t SELECT seq, IF(seq % 2, 'EU', 'US') FROM seq_1_to_500");
    const schema = await installCapture(sourceKnex, 't');
    await catalog.upsertSource({ id: 'src', url: source.url });
    await catalog.saveSchema('src', schema);
    await catalog.recordCapturedTable('src', 't', schema.hash);
    await catalog.upsertTarget({ id: 'tgt', kind: 'postgres', url: 'postgres://unused', options: {} });
    runner = new SnapshotRunner({
      sourceId: 'src',
      source: sourceKnex,
      outbox: new OutboxRepository(sourceKnex),
      lease: new LeaderLease(control.url, uniqueName('copier').slice(0, 60)),
      catalog,
      snapshots,
      progress,
      metrics,
      logger: createLogger('silent'),
      settings: { chunkRows: 100, maxInFlightRows: 250, pollMs: 50, leaderRetryMs: 50 },
    });
    runner.start();
  });

  afterAll(async () => {
    await runner?.stop();
    await sourceKnex?.destroy();
    await controlKnex?.destroy();
    await Promise.all([control?.drop(), source?.drop()]);
  });

  async function route(id: string, filter: string | null): Promise<void> {
    await catalog.upsertRoute({ id, sourceId: 'src', table: 't', targetId: 'tgt', targetTable: id, enabled: true, filter });
  }

  /** Rows copied for the route: a copy chunk record (empty pk) holds key and row images in pairs, separated by U+001E. */
  async function copyRecords(routeId: string): Promise<number> {
    const [rows] = await sourceKnex.raw(
      "SELECT SUM(IF(pk = '', (LENGTH(after_image) - LENGTH(REPLACE(after_image, CHAR(30), '')) + 1) DIV 2, 1)) AS n FROM _tributary_outbox WHERE origin = ?",
      [`tributary-copy:${routeId}`],
    );
    return Number((rows as Array<{ n: number }>)[0].n);
  }

  it('stays at most maxInFlightRows ahead of what the route applied, and is done once the route applied its final position', async () => {
    await route('paced', null);
    await snapshots.request('paced', 'initial', null);
    // Nothing applied: the copier stops after 300 rows (3 chunks of 100 reach the 250-row bound).
    await waitFor(async () => (await snapshots.get('paced'))!.rowsCopied === 300, { what: 'three chunks copied' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await snapshots.get('paced'))!.rowsCopied).toBe(300);
    // The route applies what was copied: the copier goes on to the end.
    await progress.recordApplied('paced', { watermark: (await snapshots.get('paced'))!.lastSeq!, maxSeq: 0, count: 0, lastChangeTs: null });
    const copied = await waitFor(async () => {
      const snapshot = await snapshots.get('paced');
      return snapshot!.status === 'catching_up' && snapshot;
    }, { what: 'every row copied' });
    expect(copied).toMatchObject({ rowsCopied: 500, chunks: 5 + 1 });
    expect(await copyRecords('paced')).toBe(500);
    await progress.recordApplied('paced', { watermark: copied.finalSeq!, maxSeq: 0, count: 0, lastChangeTs: null });
    await waitFor(async () => (await snapshots.get('paced'))!.status === 'done', { what: 'done' });
    const scraped = await metrics.registry.getSingleMetricAsString('tributary_snapshot_rows_copied_total');
    expect(scraped).toContain('route="paced"} 500');
  });

  it('pushes an initial copy\'s filter down, and gives way to an application holding rows, then finishes', async () => {
    await route('eu', "region = 'EU'");
    const holder = await createConnection({ uri: source.url });
    try {
      await holder.query('BEGIN');
      await holder.query("UPDATE t SET region = 'EU' WHERE id = 2"); // held for longer than the copier waits (3 s)
      await snapshots.request('eu', 'initial', null);
      await waitFor(async () => (await snapshots.get('eu'))!.error?.includes('locked by other transactions'), { timeoutMs: 15_000, what: 'the copier to give way' });
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    await progress.recordApplied('eu', { watermark: 1_000_000, maxSeq: 0, count: 0, lastChangeTs: null });
    await waitFor(async () => (await snapshots.get('eu'))!.status === 'done', { timeoutMs: 20_000, what: 'done after the lock went away' });
    expect(await copyRecords('eu')).toBe(251); // 250 odd ids, plus row 2 that the held update moved to EU
    expect(await metrics.registry.getSingleMetricAsString('tributary_snapshot_chunk_retries_total')).toMatch(/route="eu"} [1-9]/);
  });

  it('fails a copy whose filter no longer fits the table, saying why', async () => {
    await route('broken', "regon = 'EU'");
    await snapshots.request('broken', 'initial', null);
    const failed = await waitFor(async () => {
      const snapshot = await snapshots.get('broken');
      return snapshot!.status === 'failed' && snapshot;
    }, { what: 'the copy to fail' });
    expect(failed.error).toContain('unknown column "regon"');
    expect(await copyRecords('broken')).toBe(0);
  });
});

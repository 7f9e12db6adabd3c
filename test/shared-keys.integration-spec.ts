import { createConnection } from 'mysql2/promise';
import { PostgresTarget } from '@tributary/targets';
import { AppProcess, createMysqlDatabase, createPipeline, Pipeline, sleep, TestDatabase, waitFor } from '@tributary/testing';

const KV_DDL = 'CREATE TABLE kv (id INT PRIMARY KEY, v INT NOT NULL, writer VARCHAR(16) NOT NULL, updated_at DATETIME(6) NOT NULL)';
const KEYS = 40;

/**
 * Fan-in with shared keys (issue #14): two shops write the SAME keys of a
 * `kv` table, consolidated into one PostgreSQL table with `newer-wins` on
 * `updated_at`. The target keeps a version per source, so each shop's
 * replays (relay and worker killed mid-stream) stay harmless, and the
 * conflict policy orders the two shops' changes of a key: every row ends as
 * the newest of the two shops' rows.
 */
describe('several sources with shared keys into one table', () => {
  let pipeline: Pipeline;
  let shopB: TestDatabase;
  let pg: PostgresTarget;
  const policy = { resolution: 'newer-wins', column: 'updated_at' };

  beforeAll(async () => {
    pipeline = await createPipeline();
    shopB = await createMysqlDatabase('trib_src');
    await pipeline.setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    for (const [id, db] of [['a', pipeline.source], ['b', shopB]] as const) {
      await db.knex.raw(KV_DDL);
      await pipeline.setup.addSource(id, db.url);
      await pipeline.setup.captureTable(id, 'kv');
    }
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
  });

  afterAll(async () => {
    await pg?.close();
    await pipeline?.teardown();
    await shopB?.drop();
  });

  it('asks before letting a second source share keys of a table', async () => {
    await pipeline.setup.routes.create({ id: 'a-kv', sourceId: 'a', table: 'kv', targetId: 'pg', targetTable: 'kv_all', conflictPolicy: policy });
    await expect(pipeline.setup.routes.create({ id: 'b-kv', sourceId: 'b', table: 'kv', targetId: 'pg', targetTable: 'kv_all', conflictPolicy: policy })).rejects.toThrow(
      /a row of one source would be replaced by the row of another with the same key/,
    );
    await pipeline.setup.routes.create({ id: 'b-kv', sourceId: 'b', table: 'kv', targetId: 'pg', targetTable: 'kv_all', conflictPolicy: policy, shareTargetTable: true });
  });

  it('ends with the newer of the two shops\' rows for every key, through kills of relay and worker', async () => {
    // Shop a alone first: the table's versions are a's, carried over when b's changes arrive. A's seqs run
    // 2,000 ahead of b's, so a guard that compared them (one version per row) would skip b's changes.
    for (let id = 1; id <= KEYS; id++) await pipeline.source.knex.raw("INSERT INTO kv VALUES (?, 0, 'a', NOW(6))", [id]);
    for (let round = 0; round < 50; round++) await pipeline.source.knex.raw('UPDATE kv SET v = v + 1, updated_at = NOW(6)');
    let relay: AppProcess = pipeline.start('relay');
    let worker: AppProcess = pipeline.start('worker');
    await pipeline.waitForCatchUp('a-kv');

    let stop = false;
    const write = async (url: string, name: string) => {
      const connection = await createConnection({ uri: url });
      try {
        for (let n = 1; !stop; n++) {
          const id = 1 + Math.floor(Math.random() * KEYS);
          await connection.query(
            'INSERT INTO kv VALUES (?, ?, ?, NOW(6)) ON DUPLICATE KEY UPDATE v = VALUES(v), writer = VALUES(writer), updated_at = VALUES(updated_at)',
            [id, n, name],
          );
          await sleep(2);
        }
      } finally {
        await connection.end();
      }
    };
    const writers = Promise.all([write(pipeline.source.url, 'a'), write(shopB.url, 'b')]);
    await sleep(1500);
    await relay.kill('SIGKILL');
    relay = pipeline.start('relay');
    await sleep(1500);
    await worker.kill('SIGKILL');
    worker = pipeline.start('worker');
    await sleep(1500);
    stop = true;
    await writers;

    await catchUp('a-kv', pipeline.source);
    await catchUp('b-kv', shopB);
    const rowsOf = async (db: TestDatabase) =>
      new Map(((await db.knex.raw("SELECT id, v, writer, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS at FROM kv"))[0] as Row[]).map((r) => [r.id, r]));
    const [a, b] = [await rowsOf(pipeline.source), await rowsOf(shopB)];
    const target = new Map(
      ((await pipeline.postgres.knex.raw("SELECT id, v, writer, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US') AS at FROM kv_all")).rows as Row[]).map((r) => [r.id, r]),
    );
    expect(target.size).toBe(KEYS);
    let compared = 0;
    for (let id = 1; id <= KEYS; id++) {
      const [ra, rb] = [a.get(id), b.get(id)];
      // A tie of timestamps goes by name; with microseconds it is rare, and not what this test is about.
      if (!ra || (rb && ra.at === rb.at)) continue;
      const newer = !rb || ra.at > rb.at ? ra : rb;
      expect([id, target.get(id)]).toEqual([id, newer]);
      compared++;
    }
    expect(compared).toBeGreaterThan(KEYS / 2);
    // Both shops' rows won somewhere: the two sources' changes were really ordered against each other.
    expect(new Set([...target.values()].map((r) => r.writer))).toEqual(new Set(['a', 'b']));
  }, 120_000);

  interface Row {
    id: number;
    v: number;
    writer: string;
    at: string;
  }

  async function catchUp(routeId: string, db: TestDatabase): Promise<void> {
    const [rows] = await db.knex.raw('SELECT COALESCE(MAX(seq), 0) AS m FROM _tributary_outbox');
    const max = Number((rows as Array<{ m: number }>)[0].m);
    await waitFor(async () => ((await pipeline.progress.listProgress([routeId]))[0]?.watermark ?? 0) >= max, { what: `${routeId} to catch up`, timeoutMs: 60_000 }).catch(
      (error: unknown) => {
        throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
      },
    );
  }
});

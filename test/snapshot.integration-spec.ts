import { createConnection } from 'mysql2/promise';
import { SnapshotRecord, SnapshotRepository } from '@tributary/control';
import { Row, TargetTableSpec } from '@tributary/model';
import { MysqlTarget, PostgresTarget } from '@tributary/targets';
import { AppProcess, column, createMysqlDatabase, createPipeline, ITEMS_DDL, Pipeline, runCliCommand, sleep, TestDatabase, waitFor } from '@tributary/testing';

const ROWS = 100_000;
const CHUNK_ROWS = 1000;

/**
 * Writes while the copy runs, aimed at rows the copier is reading: single-row
 * updates (NOW(6), RAND()), deletes, inserts of new and deleted keys, and key
 * changes that move a row from ahead of the copy to behind it and back.
 */
async function copyWorkload(url: string, stop: () => boolean): Promise<number> {
  let committed = 0;
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      const connection = await createConnection({ uri: url });
      const key = () => 1 + Math.floor(Math.random() * ROWS * 1.1);
      try {
        while (!stop()) {
          const dice = Math.random();
          try {
            await connection.query('BEGIN');
            if (dice < 0.45) {
              await connection.query('UPDATE items SET amount = ROUND(RAND() * 1000, 2), noted = NOW(6), grp = FLOOR(RAND() * 5) WHERE id = ?', [key()]);
              await connection.query('UPDATE items SET name = CONCAT(LEFT(name, 40), "+") WHERE id = ?', [key()]);
            } else if (dice < 0.65) {
              await connection.query('DELETE FROM items WHERE id = ?', [key()]);
            } else if (dice < 0.85) {
              await connection.query(
                `INSERT INTO items (id, grp, name, amount, noted, payload) VALUES (?, FLOOR(RAND() * 5), 'new', RAND() * 100, NOW(6), JSON_OBJECT('r', RAND()))
                 ON DUPLICATE KEY UPDATE name = 'upserted', noted = NOW(6)`,
                [key()],
              );
            } else {
              await connection.query('UPDATE items SET id = ? WHERE id = ?', [key() + ROWS * 2, key()]);
            }
            await connection.query('COMMIT');
            committed++;
          } catch {
            await connection.query('ROLLBACK').catch(() => undefined); // duplicate keys from key changes, deadlocks
          }
        }
      } finally {
        await connection.end();
      }
    }),
  );
  return committed;
}

describe('initial copy of a 100k-row table while it is being written (PostgreSQL and a filtered, mapped MySQL target)', () => {
  let pipeline: Pipeline;
  let mysqlTargetDb: TestDatabase;
  let pg: PostgresTarget;
  let mysql: MysqlTarget;
  let snapshots: SnapshotRepository;

  beforeAll(async () => {
    pipeline = await createPipeline();
    mysqlTargetDb = await createMysqlDatabase('trib_copy_tgt');
    await pipeline.source.knex.raw(ITEMS_DDL);
    // Rows that exist before capture: only an initial copy can bring them to the targets.
    await pipeline.source.knex.raw(
      `INSERT INTO items (id, grp, name, amount, noted, payload)
       SELECT seq, seq % 5, CONCAT('item ', seq), seq / 100, '2024-01-01 00:00:00', JSON_OBJECT('n', seq) FROM seq_1_to_${ROWS}`,
    );
    await pipeline.setup.addSource('src', pipeline.source.url);
    await pipeline.setup.captureTable('src', 'items');
    await pipeline.setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    await pipeline.setup.addTarget({ id: 'my', kind: 'mysql', url: mysqlTargetDb.url, options: {} });
    snapshots = new SnapshotRepository(pipeline.control.knex);
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
    mysql = new MysqlTarget({ kind: 'mysql', url: mysqlTargetDb.url });
  });

  afterAll(async () => {
    await pg?.close();
    await mysql?.close();
    await pipeline?.teardown();
    await mysqlTargetDb?.drop();
  });

  async function snapshotOf(routeId: string): Promise<SnapshotRecord> {
    const snapshot = await snapshots.get(routeId);
    if (!snapshot) throw new Error(`no snapshot for ${routeId}`);
    return snapshot;
  }

  it('copies every row exactly, resumes after the worker and the copier are killed mid-copy, and the targets equal the source', async () => {
    const env = { SNAPSHOT_CHUNK_ROWS: String(CHUNK_ROWS), SNAPSHOT_MAX_IN_FLIGHT_ROWS: '20000' };
    let relay: AppProcess = pipeline.start('relay', env);
    let worker: AppProcess = pipeline.start('worker', env);
    const created = await pipeline.setup.routes.create({ id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg' });
    expect(created.initialCopy).toMatchObject({ requested: true, sourceRows: expect.any(Number) });
    await pipeline.setup.routes.create({
      id: 'items-my',
      sourceId: 'src',
      table: 'items',
      targetId: 'my',
      targetTable: 'low_groups',
      filter: 'grp < 2',
      mapping: { exclude: ['payload'], rename: { name: 'label' }, computed: [{ name: 'origin_table', value: 'table' }] },
    });

    let stop = false;
    const load = copyWorkload(pipeline.source.url, () => stop);
    try {
      // The worker dies with a batch of copies in hand; a new one takes the route over after the lock expires.
      await waitFor(async () => (await snapshotOf('items-pg')).rowsCopied >= 25_000, { timeoutMs: 60_000, what: '25k rows copied' });
      await worker.kill('SIGKILL');
      worker = pipeline.start('worker', env);
      // The copier dies between chunks or inside one; the next one resumes from the recorded cursor.
      await waitFor(async () => (await snapshotOf('items-pg')).rowsCopied >= 50_000, { timeoutMs: 60_000, what: '50k rows copied' });
      const beforeKill = await snapshotOf('items-pg');
      expect(beforeKill.status).toBe('copying');
      expect(beforeKill.cursor).not.toBeNull();
      await relay.kill('SIGKILL');
      relay = pipeline.start('relay', env);
      await waitFor(async () => ['catching_up', 'done'].includes((await snapshotOf('items-pg')).status), {
        timeoutMs: 120_000,
        what: 'every row copied',
      });
      await sleep(500); // a little more writing after the copy finished
    } finally {
      stop = true;
    }
    expect(await load).toBeGreaterThan(100);

    for (const routeId of ['items-pg', 'items-my']) {
      await waitFor(async () => (await snapshotOf(routeId)).status === 'done', { timeoutMs: 120_000, what: `${routeId} done` });
      await pipeline.waitForCatchUp(routeId, 120_000);
    }
    const pgCopy = await snapshotOf('items-pg');
    // Resumed, not restarted: at most the chunk in flight at each kill was copied twice.
    const sourceCount = Number((await pipeline.source.knex.raw('SELECT COUNT(*) AS n FROM items'))[0][0].n);
    expect(pgCopy.rowsCopied).toBeLessThan(ROWS * 1.1 + 2 * CHUNK_ROWS);
    expect(sourceCount).toBeGreaterThan(ROWS * 0.8);

    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(target.length).toBe(source.length);
    expect(target).toEqual(source);

    const spec: TargetTableSpec = {
      name: 'low_groups',
      key: ['id'],
      columns: (await pipeline.catalog.getSchema('src', 'items', (await pipeline.catalog.getCapturedTable('src', 'items'))!.schemaHash))!.columns
        .filter((column) => column.name !== 'payload')
        .map((column) => (column.name === 'name' ? { ...column, name: 'label' } : column))
        .concat([column('origin_table', 'string', { dataType: 'varchar', columnType: 'varchar(64)', length: 64 })]),
    };
    const expected: Row[] = source
      .filter((row) => Number(row.grp) < 2)
      .map(({ payload: _payload, name, ...rest }) => ({ ...rest, label: name, origin_table: 'items' }));
    const actual = await mysql.readRows(spec);
    expect(actual.length).toBe(expected.length);
    expect(actual).toEqual(expected);

    // Verify agrees, through the command line a user would run (exit 0 only when the target matches).
    for (const routeId of ['items-pg', 'items-my']) {
      const verified = await runCliCommand(pipeline.env, 'verify', routeId);
      expect({ code: verified.code, stderr: verified.stderr }).toEqual({ code: 0, stderr: '' });
      expect(verified.stdout).toContain('missing 0, extra 0, different 0');
    }
    // A re-sync from the command line follows the copy to its end.
    const resynced = await runCliCommand(pipeline.env, 'resync', 'items-my');
    expect(resynced.code).toBe(0);
    expect(resynced.stderr).toMatch(/items-my: re-sync done, \d[\d,]* rows copied/);
  });
});

describe('a route created while relay and worker run', () => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    pipeline = await createPipeline();
    await pipeline.source.knex.raw(ITEMS_DDL);
    await pipeline.source.knex.raw(
      "INSERT INTO items (id, grp, name, amount, noted, payload) SELECT seq, seq % 5, CONCAT('item ', seq), seq / 100, '2024-01-01 00:00:00', NULL FROM seq_1_to_500",
    );
    await pipeline.setup.addSource('src', pipeline.source.url);
    await pipeline.setup.captureTable('src', 'items');
    await pipeline.setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
  });

  afterAll(async () => {
    await pipeline?.teardown();
  });

  it('gets its initial copy without waiting for the next configuration refresh of either app', async () => {
    // Ten minutes between refreshes: the copy can only arrive in time if its own records wake the relay
    // (copy records of a route it does not know) and the worker (a job of a route it does not know).
    const env = { CONFIG_REFRESH_MS: '600000' };
    pipeline.start('relay', env);
    pipeline.start('worker', env);
    await waitFor(async () => (await pipeline.control.knex('tributary_relay_state').where({ source_id: 'src' }).first()) !== undefined, {
      timeoutMs: 30_000,
      what: 'the relay to lead the source',
    });
    await pipeline.setup.routes.create({ id: 'late', sourceId: 'src', table: 'items', targetId: 'pg' });
    await waitFor(async () => (await new SnapshotRepository(pipeline.control.knex).get('late'))?.status === 'done', {
      timeoutMs: 30_000,
      what: 'the initial copy of a route created after the apps started',
    });
    const [{ n }] = (await pipeline.postgres.knex.raw('SELECT count(*)::int AS n FROM items')).rows;
    expect(n).toBe(500);
  });
});

import { Connection, createConnection } from 'mysql2/promise';
import { MysqlTarget, PostgresTarget } from '@tributary/targets';
import {
  AppProcess,
  createMysqlDatabase,
  createPipeline,
  ITEMS_DDL,
  Pipeline,
  runItemsWorkload,
  sleep,
  TestDatabase,
} from '@tributary/testing';

/**
 * The whole pipeline as users run it: triggers on a real MariaDB source, the
 * compiled relay and worker apps as separate processes, BullMQ on Redis, and
 * real PostgreSQL and MariaDB targets. Every test ends comparing source and
 * target row by row.
 */
const TYPES_DDL = `CREATE TABLE types (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  i INT NULL, iu INT UNSIGNED NULL, ti TINYINT NULL, bi BIGINT NULL,
  d DECIMAL(30,10) NULL, f FLOAT NULL, db DOUBLE NULL,
  dt DATE NULL, dtm DATETIME(6) NULL, ts TIMESTAMP(6) NULL, tm TIME(3) NULL, y YEAR NULL,
  c CHAR(10) NULL, vc VARCHAR(100) NULL, tx TEXT NULL,
  bn BINARY(4) NULL, vb VARBINARY(16) NULL, bl BLOB NULL,
  b1 BIT(1) NULL, b10 BIT(10) NULL, b64 BIT(64) NULL,
  e ENUM('a','b','c d') NULL, st SET('x','y','z') NULL, j JSON NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

describe('pipeline: MariaDB → relay → BullMQ → worker → PostgreSQL and MariaDB', () => {
  let pipeline: Pipeline;
  let mysqlTarget: TestDatabase;
  let pg: PostgresTarget;
  let my: MysqlTarget;
  let relay: AppProcess;
  let standbyRelay: AppProcess;
  let worker: AppProcess;
  const connections: Connection[] = [];

  beforeAll(async () => {
    pipeline = await createPipeline();
    mysqlTarget = await createMysqlDatabase('trib_my');
    const { source, postgres, setup } = pipeline;
    await source.knex.raw(ITEMS_DDL);
    await source.knex.raw(TYPES_DDL);
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 'items');
    await setup.captureTable('src', 'types');
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: postgres.url, options: {} });
    await setup.addTarget({ id: 'my', kind: 'mysql', url: mysqlTarget.url, options: {} });
    await setup.addRoute({ id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg', targetTable: 'items', enabled: true });
    await setup.addRoute({ id: 'types-pg', sourceId: 'src', table: 'types', targetId: 'pg', targetTable: 'types', enabled: true });
    await setup.addRoute({ id: 'types-my', sourceId: 'src', table: 'types', targetId: 'my', targetTable: 'types_copy', enabled: true });
    pg = new PostgresTarget({ kind: 'postgres', url: postgres.url });
    my = new MysqlTarget({ kind: 'mysql', url: mysqlTarget.url });
    relay = pipeline.start('relay');
    standbyRelay = pipeline.start('relay'); // two relays: one leads, one waits
    worker = pipeline.start('worker');
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.end()));
    await pg?.close();
    await my?.close();
    await pipeline?.teardown();
    await mysqlTarget?.drop();
  });

  async function connect(): Promise<Connection> {
    const connection = await createConnection({ uri: pipeline.source.url });
    connections.push(connection);
    return connection;
  }

  async function expectItemsEqual(): Promise<void> {
    await pipeline.waitForCatchUp('items-pg');
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(source.length).toBeGreaterThan(0);
    expect(target).toEqual(source);
  }

  it('replicates every type exactly to both targets, with NOW() and RAND() as the source resolved them', async () => {
    const c = await connect();
    await c.query("SET time_zone = '+05:30'"); // TIMESTAMP must still arrive as the same instant
    await c.query(
      `INSERT INTO types VALUES
       (18446744073709551615, -2147483648, 4294967295, -128, -9223372036854775808,
        12345678901234567890.0123456789, 3.14159265, 1.7976931348623157e308,
        '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.654321', '-838:59:58.999', 2155,
        'chär', 'emoji 🚀 "quotes" \\\\ back', 'line1\\nline2\\ttab',
        0x00ff10ab, 0x00, 0xdeadbeef00ff, b'1', b'1010101010', b'1111111111111111111111111111111111111111111111111111111111111111',
        'c d', 'x,z', '{"big": 123456789012345678901234567890, "nested": {"a": [1, null, "x"]}}'),
       (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
       (3, FLOOR(RAND() * 1000000), 0, 0, 0, RAND(), RAND(), RAND(), CURDATE(), NOW(6), NOW(6), CURTIME(3), 2000,
        '', '', '', 0x00000000, '', '', b'0', b'0', b'0', 'a', '', '[]')`,
    );
    await c.query("UPDATE types SET vc = CONCAT(vc, '!'), db = db / 3, ts = NOW(6) WHERE id = 3");
    await c.query('INSERT INTO types (id, i) VALUES (4, 1)');
    await c.query('DELETE FROM types WHERE id = 4');
    await c.query('UPDATE types SET id = 5 WHERE id = 2'); // key change moves the row

    for (const [route, target, table] of [
      ['types-pg', pg, 'types'],
      ['types-my', my, 'types_copy'],
    ] as const) {
      await pipeline.waitForCatchUp(route);
      const { source, target: copy } = await pipeline.compare('types', target, table);
      expect(source.map((row) => row.id)).toEqual(['3', '5', '18446744073709551615']);
      expect(copy).toEqual(source);
    }
  });

  it('keeps every change when transactions commit out of seq order, stay open past many polls, or roll back', async () => {
    const [a, b, c, d] = [await connect(), await connect(), await connect(), await connect()];
    await a.query('BEGIN');
    await a.query("INSERT INTO items VALUES (1, 1, 'from a', 1.00, NOW(6), NULL)"); // lowest seq, committed last
    await b.query('BEGIN');
    await b.query("INSERT INTO items VALUES (2, 1, 'from b', 2.00, NOW(6), NULL)");
    await b.query('COMMIT');
    await c.query('BEGIN');
    await c.query("INSERT INTO items VALUES (3, 1, 'rolled back', 3.00, NOW(6), NULL)");
    await c.query('ROLLBACK');
    await d.query("INSERT INTO items VALUES (4, 1, 'from d', 4.00, NOW(6), NULL)");
    await sleep(1500); // far longer than RELAY_POLL_MAX_MS: the open transaction spans many polls
    await a.query("UPDATE items SET name = 'a again' WHERE id = 1");
    await a.query('COMMIT');
    await expectItemsEqual();
  });

  it('ends equal to the source after a concurrent random workload', async () => {
    const stats = await runItemsWorkload(pipeline.source.url, { connections: 4, transactionsPerConnection: 150, keySpace: 60 });
    expect(stats.committed).toBeGreaterThan(300);
    expect(stats.rolledBack).toBeGreaterThan(0);
    await expectItemsEqual();
  });

  it('ends equal to the source when the relays and the worker are SIGKILLed mid-workload and restarted', async () => {
    let stop = false;
    const load = runItemsWorkload(pipeline.source.url, { connections: 3, transactionsPerConnection: 100_000, keySpace: 80, stop: () => stop });
    await sleep(700);
    const { epoch: epochBefore } = (await pipeline.progress.loadRelayState('src'))!;
    await relay.kill('SIGKILL');
    await sleep(300);
    await standbyRelay.kill('SIGKILL'); // whichever led, both are gone now
    await sleep(300);
    await worker.kill('SIGKILL');
    await sleep(700); // the source keeps writing while nothing replicates
    relay = pipeline.start('relay');
    await sleep(500);
    worker = pipeline.start('worker');
    await sleep(700);
    stop = true;
    const stats = await load;
    expect(stats.committed).toBeGreaterThan(50);
    await expectItemsEqual();
    expect((await pipeline.progress.loadRelayState('src'))!.epoch).toBeGreaterThan(epochBefore);
  });

  it('stops a worker gracefully on SIGTERM', async () => {
    expect(await worker.kill('SIGTERM')).toBe(0);
    worker = pipeline.start('worker');
  });
});

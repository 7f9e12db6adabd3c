import { Knex } from 'knex';
import { createConnection } from 'mysql2/promise';
import { installCapture } from '@tributary/capture';
import { openMysql } from '@tributary/control';
import { migrateOutbox } from '@tributary/db';
import { copyRouteOf, decodeImage, decodeKey, keyText, TableSchema } from '@tributary/model';
import { expandCopyChunk, isCopyChunk } from '@tributary/outbox';
import { createMysqlDatabase, sleep, TestDatabase } from '@tributary/testing';
import { SourceCopier } from './copier';
import { decodeKeyText, encodeKey } from './key-sql';

interface OutboxRow {
  seq: number;
  op: string;
  pk: string;
  after_image: string | null;
  origin: string | null;
}

describe('SourceCopier (real MariaDB)', () => {
  let db: TestDatabase;
  let knex: Knex;

  beforeAll(async () => {
    db = await createMysqlDatabase('trib_copy');
    knex = openMysql(db.url);
    await migrateOutbox(knex);
  });

  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });

  async function capture(ddl: string, table: string): Promise<TableSchema> {
    await knex.raw(ddl);
    return installCapture(knex, table);
  }

  async function outboxRows(origin?: string): Promise<OutboxRow[]> {
    const [rows] = await knex.raw(`SELECT seq, op, pk, after_image, origin FROM _tributary_outbox ${origin ? 'WHERE origin = ?' : ''} ORDER BY seq`, origin ? [origin] : []);
    return rows as OutboxRow[];
  }

  /** The outbox as a worker reads it: a copy chunk's rows one by one, with the chunk's seq. */
  async function outbox(origin?: string): Promise<OutboxRow[]> {
    return (await outboxRows(origin)).flatMap((row) => {
      if (!isCopyChunk(row)) return [row];
      const header = { seq: row.seq, table: 't', op: 'insert' as const, pk: row.pk, before: null, after: null, origin: row.origin, ts: 0, schema: 'h' };
      return expandCopyChunk(header, row.after_image!).map((wire) => ({ seq: wire.seq, op: wire.op, pk: wire.pk, after_image: wire.after, origin: wire.origin }));
    });
  }

  /** Copies the whole table in chunks of `size`, resuming from an encoded cursor each time, as the runner does. */
  async function copyAll(copier: SourceCopier, schema: TableSchema, size: number): Promise<number> {
    let cursor: string | null = null;
    let chunks = 0;
    for (;;) {
      const chunk = await copier.copyChunk(schema, cursor ? decodeKeyText(cursor) : null, size, null);
      chunks++;
      if (!chunk.next) return chunks;
      cursor = encodeKey(chunk.next);
    }
  }

  it('copies every row exactly once in keyset chunks, for keys MySQL orders in its own ways', async () => {
    const schema = await capture(
      `CREATE TABLE odd_keys (
        big BIGINT UNSIGNED NOT NULL, name VARCHAR(20) NOT NULL, bin VARBINARY(8) NOT NULL, kind ENUM('zeta','alpha') NOT NULL,
        at TIMESTAMP(3) NOT NULL DEFAULT '2000-01-01 00:00:00', amount DECIMAL(30,10) NULL,
        PRIMARY KEY (big, name, bin, kind, at)
      ) CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
      'odd_keys',
    );
    const values: string[] = [];
    for (const big of ['1', '9007199254740993', '18446744073709551615']) {
      for (const name of ['a', 'B', 'c ', 'é']) {
        for (const bin of ["X''", "X'00'", "X'0000'", "X'FF'"]) {
          for (const kind of ['zeta', 'alpha']) values.push(`(${big}, '${name}', ${bin}, '${kind}', '2024-03-31 01:30:00.125', 1.5)`);
        }
      }
    }
    await knex.raw(`SET time_zone = '+02:00'`); // the writer's zone must not matter for TIMESTAMP keys
    await knex.raw(`INSERT INTO odd_keys (big, name, bin, kind, at, amount) VALUES ${values.join(', ')}`);
    await knex.raw(`SET time_zone = '+00:00'`);
    const copier = new SourceCopier(knex, 'odd');
    const chunks = await copyAll(copier, schema, 7);
    const copied = await outbox('tributary-copy:odd');
    expect(copied).toHaveLength(values.length);
    expect(chunks).toBe(Math.ceil(values.length / 7) + (values.length % 7 === 0 ? 1 : 0));
    // One outbox row per chunk that found rows, all its rows at its seq.
    const records = await outboxRows('tributary-copy:odd');
    expect(records).toHaveLength(Math.ceil(values.length / 7));
    expect(records.every(isCopyChunk)).toBe(true);
    expect(new Set(copied.map((row) => row.seq)).size).toBe(records.length);
    const keys = copied.map((row) => keyText(schema.key, decodeKey(schema, row.pk)));
    expect(new Set(keys).size).toBe(values.length);
    expect(copied.every((row) => row.op === 'insert' && copyRouteOf(row.origin) === 'odd')).toBe(true);
    // The images are the triggers' own: they decode with the captured schema.
    expect(decodeImage(schema, copied[0].after_image)).toMatchObject({ amount: '1.5000000000' });
  });

  it('orders a copy after a writer that holds the row, and before a writer that comes after it', async () => {
    const schema = await capture('CREATE TABLE hot (id INT PRIMARY KEY, v INT NOT NULL)', 'hot');
    await knex.raw('INSERT INTO hot (id, v) VALUES (1, 0), (2, 0), (3, 0)');
    const writer = await createConnection({ uri: db.url });
    try {
      await writer.query('BEGIN');
      await writer.query('UPDATE hot SET v = 1 WHERE id = 2'); // holds row 2, its change already has a seq
      const copying = new SourceCopier(knex, 'hot').copyChunk(schema, null, 10, null);
      await sleep(300);
      await writer.query('COMMIT');
      await copying;
      await knex.raw('UPDATE hot SET v = 2 WHERE id = 2');
    } finally {
      await writer.end();
    }
    const changes = (await outbox()).filter((row) => JSON.parse(row.pk).id === 2);
    // insert < writer's change < the copy (which saw v = 1, the committed value) < the later change.
    expect(changes.map((row) => [copyRouteOf(row.origin) ? 'copy' : 'change', JSON.parse(row.after_image!).v])).toEqual([
      ['change', 0],
      ['change', 1],
      ['copy', 1],
      ['change', 2],
    ]);
  });

  it('copies chosen keys: present rows as copies, absent keys as copy deletes', async () => {
    const schema = await capture('CREATE TABLE picked (a INT NOT NULL, b VARCHAR(5) NOT NULL, v INT, PRIMARY KEY (a, b))', 'picked');
    await knex.raw("INSERT INTO picked VALUES (1, 'x', 10), (2, 'y', 20)");
    const result = await new SourceCopier(knex, 'pick').copyKeys(schema, [
      { a: 1, b: 'x' },
      { a: 3, b: 'z' },
      { a: 3, b: 'z' },
    ]);
    expect(result).toMatchObject({ copied: 1, deleted: 1 });
    const rows = await outbox('tributary-copy:pick');
    expect(rows.map((row) => [row.op, JSON.parse(row.pk)])).toEqual([
      ['insert', { a: 1, b: 'x' }],
      ['delete', { a: 3, b: 'z' }],
    ]);
    expect(result.lastSeq).toBe(Number(rows[1].seq));
  });

  it('pushes a condition down and still moves the cursor over rows it skips', async () => {
    const schema = await capture('CREATE TABLE filtered (id INT PRIMARY KEY, region CHAR(2) NOT NULL)', 'filtered');
    await knex.raw("INSERT INTO filtered SELECT seq, IF(seq % 10 = 0, 'EU', 'US') FROM seq_1_to_95");
    const copier = new SourceCopier(knex, 'eu');
    let after = null;
    let copied = 0;
    for (;;) {
      const chunk = await copier.copyChunk(schema, after, 20, { sql: '`src`.`region` = ?', bindings: ['EU'] });
      copied += chunk.copied;
      if (!chunk.next) break;
      after = chunk.next;
    }
    expect(copied).toBe(9);
  });

  it("writes records byte for byte as the triggers would, whether the server builds them or the rows pass through (a chunk too big for one statement)", async () => {
    const schema = await capture(
      "CREATE TABLE texts (id INT PRIMARY KEY, t VARCHAR(200) NULL, j JSON NULL, b VARBINARY(10) NULL, d DECIMAL(10,2) NULL) CHARSET utf8mb4",
      'texts',
    );
    // The triggers' own records of these inserts are what the copies must equal (CHAR(30) in a value
    // too: the copy chunk's separator, which the images escape).
    await knex.raw(
      `INSERT INTO texts VALUES (1, 'it''s a \\\\ "quote"', '{"x": "é😀", "n": [1, 2.5]}', X'00FF27', 12.50), (2, NULL, NULL, NULL, NULL),
       (3, CONCAT('line', CHAR(10), 'break', CHAR(0), 'nul', CHAR(30), 'rs'), '"\\\\u0000"', X'', -0.01), (4, REPEAT('ü', 200), '[]', X'5C27', 0)`,
    );
    const [triggered] = await knex.raw("SELECT pk, after_image FROM _tributary_outbox WHERE table_name = 'texts' AND origin IS NULL ORDER BY seq");
    const written = new Map((triggered as OutboxRow[]).map((row) => [row.pk, row.after_image]));
    expect(written.size).toBe(4);
    for (const [route, listBytes] of [['in-server', undefined], ['through', 64]] as const) {
      const copier = new SourceCopier(knex, route, listBytes);
      const chunk = await copier.copyChunk(schema, null, 10, null);
      const copies = await outbox(`tributary-copy:${route}`);
      expect(chunk).toEqual({ copied: 4, next: null, lastSeq: Number(copies[3].seq) });
      expect(copies.map((row) => [row.pk, row.after_image])).toEqual([...written.entries()]);
    }
  });
});

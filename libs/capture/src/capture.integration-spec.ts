import { migrateOutbox, ORIGIN_VARIABLE, OUTBOX_TABLE } from '@tributary/db';
import { InvalidIdentifierError, Row, TableSchema, decodeImage, decodeKey } from '@tributary/model';
import { TestDatabase, createMysqlDatabase, sleep } from '@tributary/testing';
import knexFactory, { Knex } from 'knex';
import {
  CaptureError,
  captureStatus,
  cascadeWarnings,
  installCapture,
  introspectTable,
  triggerNames,
  uninstallCapture,
} from '@tributary/capture';

interface OutboxRow {
  seq: number;
  table_name: string;
  op: string;
  pk: string;
  before_image: string | null;
  after_image: string | null;
  origin: string | null;
  ts: number;
  schema_hash: string;
}

let db: TestDatabase;

beforeAll(async () => {
  db = await createMysqlDatabase('trb_capture');
  await migrateOutbox(db.knex);
});

afterAll(async () => {
  await db.drop();
});

async function select<T>(sql: string, bindings: readonly Knex.Value[] = [], on: Knex | Knex.Transaction = db.knex): Promise<T[]> {
  const [rows] = (await on.raw(sql, [...bindings])) as [T[], unknown];
  return rows;
}

function outbox(table: string): Promise<OutboxRow[]> {
  return select<OutboxRow>(`SELECT * FROM \`${OUTBOX_TABLE}\` WHERE table_name = ? ORDER BY seq`, [table]);
}

/** Runs `work` on one connection with a session time zone, restoring it before the connection goes back. */
async function inTimeZone<T>(zone: string, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return db.knex.transaction(async (trx) => {
    await trx.raw('SET time_zone = ?', [zone]);
    try {
      return await work(trx);
    } finally {
      await trx.raw('SET time_zone = DEFAULT');
    }
  });
}

const afterImages = async (schema: TableSchema): Promise<Row[]> =>
  (await outbox(schema.table)).map((row) => decodeImage(schema, row.after_image) ?? {});

describe('capture (MariaDB)', () => {
  it('carries every type exactly, whatever the writer session time zone', async () => {
    await db.knex.raw(`CREATE TABLE alltypes (
      id INT NOT NULL PRIMARY KEY,
      i INT NULL, iu INT UNSIGNED NULL, ti TINYINT NULL, bi BIGINT NULL, bu BIGINT UNSIGNED NULL,
      de DECIMAL(30,10) NULL, fl FLOAT NULL, db DOUBLE NULL, db2 DOUBLE NULL,
      da DATE NULL, dt DATETIME(6) NULL, ts TIMESTAMP(6) NULL, tm TIME(3) NULL, y YEAR NULL,
      c CHAR(10) NULL, vc VARCHAR(200) NULL, tx TEXT NULL,
      la VARCHAR(20) CHARACTER SET latin1 NULL, u16 VARCHAR(20) CHARACTER SET utf16 NULL,
      bn BINARY(4) NULL, vb VARBINARY(100) NULL, bl BLOB NULL,
      b1 BIT(1) NULL, b10 BIT(10) NULL, b64 BIT(64) NULL,
      en ENUM('small','it''s','x,y') NULL, st SET('p','q','r') NULL, js JSON NULL, uu UUID NULL
    )`);
    const schema = await installCapture(db.knex, 'alltypes');

    expect(schema.key).toEqual(['id']);
    expect(schema.keyKind).toBe('primary');
    const spec = (name: string) => schema.columns.find((column) => column.name === name);
    expect(schema.columns.map((column) => column.name)).toEqual([
      'id', 'i', 'iu', 'ti', 'bi', 'bu', 'de', 'fl', 'db', 'db2', 'da', 'dt', 'ts', 'tm', 'y', 'c', 'vc', 'tx', 'la', 'u16',
      'bn', 'vb', 'bl', 'b1', 'b10', 'b64', 'en', 'st', 'js', 'uu',
    ]);
    expect(spec('js')).toMatchObject({ type: 'json', dataType: 'longtext' });
    expect(spec('de')).toMatchObject({ type: 'decimal', precision: 30, scale: 10, unsigned: false });
    expect(spec('bu')).toMatchObject({ type: 'bigint', unsigned: true, columnType: 'bigint(20) unsigned' });
    expect(spec('iu')).toMatchObject({ type: 'int', unsigned: true });
    expect(spec('fl')).toMatchObject({ type: 'float' });
    expect(spec('db')).toMatchObject({ type: 'double' });
    expect(spec('dt')).toMatchObject({ type: 'datetime', fsp: 6 });
    expect(spec('ts')).toMatchObject({ type: 'timestamp', fsp: 6, nullable: true });
    expect(spec('tm')).toMatchObject({ type: 'time', fsp: 3 });
    expect(spec('da')).toMatchObject({ type: 'date', fsp: null });
    expect(spec('y')).toMatchObject({ type: 'year' });
    expect(spec('vc')).toMatchObject({ type: 'string', length: 200 });
    expect(spec('tx')).toMatchObject({ type: 'string', dataType: 'text', length: null });
    expect(spec('bn')).toMatchObject({ type: 'binary', length: 4 });
    expect(spec('bl')).toMatchObject({ type: 'binary', dataType: 'blob' });
    expect(spec('b10')).toMatchObject({ type: 'bit', length: 10 });
    expect(spec('en')).toMatchObject({ type: 'enum', members: ['small', "it's", 'x,y'] });
    expect(spec('st')).toMatchObject({ type: 'set', members: ['p', 'q', 'r'] });
    expect(spec('id')).toMatchObject({ type: 'int', nullable: false });

    const text = `it's "quoted" \\ back\\slash\nnew line\r\ttab \u0001 ctrl \u001f 😀 é 中文`;
    const blob = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));
    const json = '{"big": 123456789012345678901234567890, "nested": {"a": [1, "é😀", null, {"b": 1.5e300}]}}';
    await inTimeZone('+05:30', async (trx) => {
      await trx.raw(
        `INSERT INTO alltypes VALUES (1, 2147483647, 4294967295, -128, -9223372036854775808, 18446744073709551615,
          12345678901234567890.0123456789, 3.14159265, 0.1e0 + 0.2e0, 1.7976931348623157e308,
          '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 08:34:05.123456', '-838:59:58.999', 2155,
          ?, ?, ?, ?, ?, X'00FF', X'00FF00', ?, b'1', b'0000000101', b'${'1'.repeat(64)}', ?, 'p,r', ?, '123e4567-e89b-12d3-a456-426614174000')`,
        ["it's 😀", text, text.repeat(40), 'café €', '😀 utf16 é', blob, "it's", json],
      );
      await trx.raw(
        `INSERT INTO alltypes VALUES (2, -2147483648, 0, 127, 9223372036854775807, 0,
          -99999999999999999999.9999999999, -3.4028234e38, 5e-324, -2.2250738585072014e-308,
          '1000-01-01', '9999-12-31 23:59:59.999999', '1970-01-01 05:30:01', '100:00:00.5', 1901,
          '', '', '', '', '', X'', X'', X'', b'0', b'1111111111', b'0', 'x,y', '', '[]', NULL)`,
      );
      await trx.raw('INSERT INTO alltypes (id) VALUES (3)');
    });

    const images = await afterImages(schema);
    expect(images).toHaveLength(3);
    expect(images[0]).toEqual({
      id: 1, i: 2147483647, iu: 4294967295, ti: -128, bi: '-9223372036854775808', bu: '18446744073709551615',
      de: '12345678901234567890.0123456789', fl: Math.fround(3.14159265), db: 0.1 + 0.2, db2: 1.7976931348623157e308,
      da: '2024-02-29', dt: '2024-01-02 03:04:05.123456', ts: '2024-01-02 03:04:05.123456', tm: '-838:59:58.999', y: 2155,
      c: "it's 😀", vc: text, tx: text.repeat(40), la: 'café €', u16: '😀 utf16 é',
      bn: Buffer.from([0x00, 0xff, 0x00, 0x00]), vb: Buffer.from([0x00, 0xff, 0x00]), bl: blob,
      b1: '1', b10: '0000000101', b64: '1'.repeat(64), en: "it's", st: 'p,r', js: json, uu: '123e4567-e89b-12d3-a456-426614174000',
    });
    expect(images[0].fl).toBe(3.1415927410125732);
    expect(images[0].db).toBe(0.30000000000000004);
    expect(images[1]).toEqual({
      id: 2, i: -2147483648, iu: 0, ti: 127, bi: '9223372036854775807', bu: '0',
      de: '-99999999999999999999.9999999999', fl: Math.fround(-3.4028234e38), db: 5e-324, db2: -2.2250738585072014e-308,
      da: '1000-01-01', dt: '9999-12-31 23:59:59.999999', ts: '1970-01-01 00:00:01.000000', tm: '100:00:00.500', y: 1901,
      c: '', vc: '', tx: '', la: '', u16: '',
      bn: Buffer.alloc(4), vb: Buffer.alloc(0), bl: Buffer.alloc(0),
      b1: '0', b10: '1111111111', b64: '0'.repeat(64), en: 'x,y', st: '', js: '[]', uu: null,
    });
    expect(images[2]).toEqual(Object.fromEntries(schema.columns.map((column) => [column.name, column.name === 'id' ? 3 : null])));

    const rows = await outbox('alltypes');
    expect(rows.map((row) => [row.op, row.before_image, row.origin, row.schema_hash])).toEqual([
      ['insert', null, null, schema.hash],
      ['insert', null, null, schema.hash],
      ['insert', null, null, schema.hash],
    ]);
    expect(rows.map((row) => decodeKey(schema, row.pk))).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    // Plain base64, not TO_BASE64's 76-character lines.
    expect((JSON.parse(rows[0].after_image ?? '{}') as Record<string, string>).bl).toMatch(/^[A-Za-z0-9+/]{400}$/);

    // Triggers keep the installing session's charset and collation; the images must not depend on them.
    const latin1 = knexFactory({ client: 'mysql2', connection: { uri: db.url, charset: 'LATIN1_SWEDISH_CI' } as Knex.MySql2ConnectionConfig, pool: { min: 0, max: 2 } });
    try {
      expect(await installCapture(latin1, 'alltypes')).toEqual(schema);
    } finally {
      await latin1.destroy();
    }
    const others = schema.columns.filter((column) => column.name !== 'id').map((column) => column.name);
    await db.knex.raw(`INSERT INTO alltypes (id, ${others.join(', ')}) SELECT 4, ${others.join(', ')} FROM alltypes WHERE id = 1`);
    expect((await afterImages(schema))[3]).toEqual({ ...images[0], id: 4 });
  });

  it('captures resolved values: auto-increment ids, NOW(6) and RAND() as the row stores them', async () => {
    await db.knex.raw('CREATE TABLE resolved (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL, r DOUBLE NOT NULL, stamp TIMESTAMP(6) NULL)');
    const schema = await installCapture(db.knex, 'resolved');
    await inTimeZone('-07:00', (trx) => trx.raw('INSERT INTO resolved (at, r, stamp) VALUES (NOW(6), RAND(), NOW(6)), (NOW(6), RAND(), NOW(6)), (NOW(6), RAND(), NOW(6))'));

    const images = await afterImages(schema);
    const stored = await inTimeZone('+00:00', (trx) =>
      select<{ id: number; at: string; stamp: string }>('SELECT id, CAST(at AS CHAR) AS at, CAST(stamp AS CHAR) AS stamp FROM resolved ORDER BY id', [], trx),
    );
    expect(images.map(({ id, at, stamp }) => ({ id, at, stamp }))).toEqual(stored);
    expect(new Set(images.map((image) => image.id)).size).toBe(3);
    for (const image of images) {
      const [{ same }] = await select<{ same: number }>('SELECT COUNT(*) AS same FROM resolved WHERE id = ? AND r = CAST(? AS DOUBLE)', [image.id, String(image.r)]);
      expect(same).toBe(1);
    }
    const ts = (await outbox('resolved')).map((row) => Number(row.ts));
    for (const micros of ts) expect(Math.abs(micros - Date.now() * 1000)).toBeLessThan(60_000_000);
  });

  it('writes before, after and key images for updates and deletes, in the writer transaction', async () => {
    await db.knex.raw('CREATE TABLE kv (id INT PRIMARY KEY, v VARCHAR(10) NULL)');
    const schema = await installCapture(db.knex, 'kv');
    await db.knex.raw("INSERT INTO kv VALUES (1, 'a')");
    await db.knex.raw("UPDATE kv SET v = 'b' WHERE id = 1");
    await db.knex.raw('UPDATE kv SET id = 2 WHERE id = 1');
    await db.knex.raw('DELETE FROM kv WHERE id = 2');
    await db.knex
      .transaction(async (trx) => {
        await trx.raw("INSERT INTO kv VALUES (5, 'gone')");
        throw new Error('roll back');
      })
      .catch(() => undefined);

    const rows = await outbox('kv');
    const decoded = rows.map((row) => ({
      op: row.op,
      pk: decodeKey(schema, row.pk),
      before: decodeImage(schema, row.before_image),
      after: decodeImage(schema, row.after_image),
    }));
    expect(decoded).toEqual([
      { op: 'insert', pk: { id: 1 }, before: null, after: { id: 1, v: 'a' } },
      { op: 'update', pk: { id: 1 }, before: { id: 1, v: 'a' }, after: { id: 1, v: 'b' } },
      { op: 'update', pk: { id: 2 }, before: { id: 1, v: 'b' }, after: { id: 2, v: 'b' } },
      { op: 'delete', pk: { id: 2 }, before: { id: 2, v: 'b' }, after: null },
    ]);
    expect(rows.map((row) => Number(row.seq))).toEqual([...rows.map((row) => Number(row.seq))].sort((a, b) => a - b));
  });

  it('uses a NOT NULL unique key when there is no primary key, with generated columns captured', async () => {
    await db.knex.raw(`CREATE TABLE uk (code VARCHAR(10) NOT NULL, alt INT NULL, n INT NULL, twice INT AS (n * 2) VIRTUAL,
      UNIQUE KEY alt_uk (alt), UNIQUE KEY code_uk (code))`);
    const schema = await installCapture(db.knex, 'uk');
    expect(schema.keyKind).toBe('unique');
    expect(schema.key).toEqual(['code']);
    await db.knex.raw("INSERT INTO uk (code, alt, n) VALUES ('k1', NULL, 21)");
    const [row] = await outbox('uk');
    expect(decodeKey(schema, row.pk)).toEqual({ code: 'k1' });
    expect(decodeImage(schema, row.after_image)).toEqual({ code: 'k1', alt: null, n: 21, twice: 42 });
  });

  it('refuses tables it cannot capture, saying why', async () => {
    await db.knex.raw('CREATE TABLE nokey (a INT NULL, b INT NULL, UNIQUE KEY (a))');
    await db.knex.raw('CREATE VIEW kv_view AS SELECT * FROM kv');
    await expect(introspectTable(db.knex, 'nokey')).rejects.toThrow(CaptureError);
    await expect(introspectTable(db.knex, 'nokey')).rejects.toThrow(/no primary key or NOT NULL unique key; replication needs one to identify rows/);
    await expect(installCapture(db.knex, 'nokey')).rejects.toThrow(/no primary key/);
    expect(await select('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ?', ['nokey'])).toEqual([]);
    await expect(introspectTable(db.knex, 'missing')).rejects.toThrow(/table missing does not exist/);
    await expect(installCapture(db.knex, 'missing')).rejects.toThrow(CaptureError);
    await expect(introspectTable(db.knex, 'kv_view')).rejects.toThrow(/view, not a base table/);
    await expect(introspectTable(db.knex, OUTBOX_TABLE)).rejects.toThrow(/_tributary_outbox cannot be captured: .*Tributary keeps its own bookkeeping/);
    await expect(introspectTable(db.knex, 'tributary_routes')).rejects.toThrow(/tributary_routes cannot be captured: .*control schema/);
    await expect(introspectTable(db.knex, 'kv; DROP TABLE kv')).rejects.toThrow(InvalidIdentifierError);
    await expect(installCapture(db.knex, 'kv`')).rejects.toThrow(InvalidIdentifierError);
  });

  it('installs and uninstalls idempotently, and reports drift after a schema change', async () => {
    await db.knex.raw('CREATE TABLE dr (id INT PRIMARY KEY, a INT NULL)');
    const names = triggerNames('dr');
    const triggersOn = async (table: string) =>
      (await select<{ name: string }>('SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ? ORDER BY name', [table])).map((r) => r.name);

    const before = await captureStatus(db.knex, 'dr');
    expect(before).toEqual({ installed: false, installedHash: null, currentHash: before.currentHash, drifted: false, triggers: [] });

    const first = await installCapture(db.knex, 'dr');
    const second = await installCapture(db.knex, 'dr');
    expect(second).toEqual(first);
    expect(await triggersOn('dr')).toEqual(['trb_dr_ad', 'trb_dr_ai', 'trb_dr_au']);
    expect(Object.values(names)).toEqual(['trb_dr_ai', 'trb_dr_au', 'trb_dr_ad']);
    expect(await captureStatus(db.knex, 'dr')).toEqual({
      installed: true, installedHash: first.hash, currentHash: first.hash, drifted: false, triggers: ['trb_dr_ad', 'trb_dr_ai', 'trb_dr_au'].sort(),
    });

    await db.knex.raw('ALTER TABLE dr ADD COLUMN b VARCHAR(5) NULL');
    const drifted = await captureStatus(db.knex, 'dr');
    expect(drifted).toMatchObject({ installed: true, installedHash: first.hash, drifted: true });
    expect(drifted.currentHash).not.toBe(first.hash);
    await db.knex.raw("INSERT INTO dr VALUES (1, 1, 'old')");

    const recorded: TableSchema[] = [];
    const current = await installCapture(db.knex, 'dr', { beforeInstall: async (schema) => void recorded.push(schema) });
    expect(recorded).toEqual([current]);
    expect(current.hash).toBe(drifted.currentHash);
    expect(await captureStatus(db.knex, 'dr')).toMatchObject({ installed: true, installedHash: current.hash, currentHash: current.hash, drifted: false });
    await db.knex.raw("INSERT INTO dr VALUES (2, 2, 'new')");

    const rows = await outbox('dr');
    expect(rows.map((row) => row.schema_hash)).toEqual([first.hash, current.hash]);
    expect(decodeImage(first, rows[0].after_image)).toEqual({ id: 1, a: 1 });
    expect(JSON.parse(rows[0].after_image ?? '{}')).not.toHaveProperty('b');
    expect(decodeImage(current, rows[1].after_image)).toEqual({ id: 2, a: 2, b: 'new' });

    await db.knex.raw(`DROP TRIGGER ${names.update}`);
    expect(await captureStatus(db.knex, 'dr')).toMatchObject({ installed: true, drifted: true, triggers: [names.delete, names.insert].sort() });

    await uninstallCapture(db.knex, 'dr');
    await uninstallCapture(db.knex, 'dr');
    expect(await triggersOn('dr')).toEqual([]);
    expect(await captureStatus(db.knex, 'dr')).toMatchObject({ installed: false, installedHash: null, drifted: false, triggers: [] });
    await db.knex.raw("INSERT INTO dr VALUES (3, 3, 'none')");
    expect(await outbox('dr')).toHaveLength(2);

    await expect(installCapture(db.knex, 'dr', { beforeInstall: async () => { throw new Error('control schema refused'); } })).rejects.toThrow('control schema refused');
    expect(await triggersOn('dr')).toEqual([]);
    await uninstallCapture(db.knex, 'no_such_table');
  });

  it('reports a dropped column, which breaks writes until capture is re-installed', async () => {
    await db.knex.raw('CREATE TABLE dc (id INT PRIMARY KEY, a INT NULL, b INT NULL)');
    await installCapture(db.knex, 'dc');
    await db.knex.raw('ALTER TABLE dc DROP COLUMN b');
    expect(await captureStatus(db.knex, 'dc')).toMatchObject({ installed: true, drifted: true });
    await expect(db.knex.raw('INSERT INTO dc VALUES (1, 1)')).rejects.toThrow(/Unknown column 'b' in 'NEW'/);
    const schema = await installCapture(db.knex, 'dc');
    await db.knex.raw('INSERT INTO dc VALUES (1, 1)');
    expect(await afterImages(schema)).toEqual([{ id: 1, a: 1 }]);
  });

  it('gives up after lockWaitSeconds when a transaction holds the table, leaving capture as it was', async () => {
    await db.knex.raw('CREATE TABLE busy (id INT PRIMARY KEY)');
    const schema = await installCapture(db.knex, 'busy');
    const trx = await db.knex.transaction();
    try {
      await trx.raw('INSERT INTO busy VALUES (1)');
      const started = Date.now();
      await expect(installCapture(db.knex, 'busy', { lockWaitSeconds: 1 })).rejects.toThrow('could not lock busy, _tributary_outbox: Lock wait timeout exceeded; try restarting transaction (a long transaction holds the table; retry when it has finished)');
      expect(Date.now() - started).toBeLessThan(5000);
      await trx.raw('INSERT INTO busy VALUES (2)');
      await trx.commit();
    } catch (error) {
      await trx.rollback();
      throw error;
    }
    expect((await afterImages(schema)).map((image) => image.id)).toEqual([1, 2]);
    expect(await captureStatus(db.knex, 'busy')).toMatchObject({ installed: true, drifted: false });
  });

  it('replaces triggers a RENAME TABLE carried over, which would capture under the old name', async () => {
    await db.knex.raw('CREATE TABLE mv (id INT PRIMARY KEY)');
    const old = await installCapture(db.knex, 'mv');
    await db.knex.raw('RENAME TABLE mv TO mv2');
    // Same columns, so the same hash; but these triggers would write table_name 'mv'.
    expect(await captureStatus(db.knex, 'mv2')).toEqual({
      installed: true, drifted: true, installedHash: old.hash, currentHash: old.hash, triggers: Object.values(triggerNames('mv')).sort(),
    });
    await installCapture(db.knex, 'mv2');
    expect((await captureStatus(db.knex, 'mv2')).triggers.sort()).toEqual(Object.values(triggerNames('mv2')).sort());
    await db.knex.raw('INSERT INTO mv2 VALUES (1)');
    expect((await outbox('mv2')).map((row) => row.pk)).toEqual(['{"id": 1}']);
    expect(await outbox('mv')).toEqual([]);
  });

  it('records the origin session variable, and NULL for application writes', async () => {
    await db.knex.raw('CREATE TABLE og (id INT PRIMARY KEY)');
    await installCapture(db.knex, 'og');
    await db.knex.transaction(async (trx) => {
      await trx.raw(`SET ${ORIGIN_VARIABLE} = ?`, ['tributary:a']);
      await trx.raw('INSERT INTO og VALUES (1)');
      await trx.raw(`SET ${ORIGIN_VARIABLE} = NULL`);
    });
    await db.knex.raw('INSERT INTO og VALUES (2)');
    expect((await outbox('og')).map((row) => [row.pk, row.origin])).toEqual([
      ['{"id": 1}', 'tributary:a'],
      ['{"id": 2}', null],
    ]);
  });

  it('loses no write while capture is re-installed under load', async () => {
    await db.knex.raw('CREATE TABLE ld (id INT AUTO_INCREMENT PRIMARY KEY, writer INT NOT NULL, n INT NOT NULL)');
    await installCapture(db.knex, 'ld');
    let stop = false;
    const errors: unknown[] = [];
    const writesAt: number[] = [];
    const writer = async (w: number) => {
      for (let n = 0; !stop; n++) {
        try {
          if (n % 2 === 0) {
            await db.knex.raw('INSERT INTO ld (writer, n) VALUES (?, ?)', [w, n]);
          } else {
            await db.knex.transaction(async (trx) => {
              await trx.raw('INSERT INTO ld (writer, n) VALUES (?, ?), (?, ?)', [w, n, w, n]);
              await trx.raw('INSERT INTO ld (writer, n) VALUES (?, ?)', [w, n]);
            });
          }
          writesAt.push(Date.now());
        } catch (error) {
          errors.push(error);
        }
      }
    };
    const writers = [1, 2, 3].map(writer);
    await sleep(100);
    const started = Date.now();
    for (let i = 0; i < 10; i++) await installCapture(db.knex, 'ld');
    const finished = Date.now();
    await sleep(100);
    stop = true;
    await Promise.all(writers);

    expect(errors).toEqual([]);
    expect(writesAt.filter((at) => at >= started && at <= finished).length).toBeGreaterThan(10);
    const ids = (await select<{ id: number }>('SELECT id FROM ld ORDER BY id')).map((row) => row.id);
    const schema = await introspectTable(db.knex, 'ld');
    const captured = (await outbox('ld')).filter((row) => row.op === 'insert').map((row) => Number(decodeKey(schema, row.pk).id));
    expect(ids.length).toBeGreaterThan(100);
    expect(captured).toHaveLength(ids.length);
    expect([...captured].sort((a, b) => a - b)).toEqual(ids);
  });

  it('warns about foreign keys whose cascades capture cannot see: into a table not captured (yet)', async () => {
    await db.knex.raw('CREATE TABLE parent (id INT PRIMARY KEY)');
    await db.knex.raw('CREATE TABLE child_c (id INT PRIMARY KEY, parent_id INT NULL, CONSTRAINT fk_c FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE)');
    await db.knex.raw('CREATE TABLE child_r (id INT PRIMARY KEY, parent_id INT NULL, CONSTRAINT fk_r FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE RESTRICT)');
    await db.knex.raw('CREATE TABLE child_n (id INT PRIMARY KEY, parent_id INT NULL, CONSTRAINT fk_n FOREIGN KEY (parent_id) REFERENCES parent (id) ON UPDATE SET NULL)');

    const warnings = await cascadeWarnings(db.knex, 'parent');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^foreign key fk_c on child_c \(parent_id\) references parent \(id\) ON DELETE CASCADE: rows of child_c changed by it are captured only once child_c is captured too/);
    expect(warnings[1]).toMatch(/fk_n on child_n \(parent_id\) references parent \(id\) ON UPDATE SET NULL/);
    expect(warnings.join('\n')).not.toContain('child_r');
    // As a child, before its parent is captured: its parent's trigger is what writes its cascaded rows.
    expect(await cascadeWarnings(db.knex, 'child_c')).toEqual([expect.stringMatching(/^foreign key fk_c on child_c \(parent_id\) references parent \(id\) ON DELETE CASCADE: rows of child_c changed by it are captured only once parent is captured too/)]);

    // Both captured: the cascaded delete reaches the outbox, before the parent's own delete.
    await installCapture(db.knex, 'parent');
    await installCapture(db.knex, 'child_c');
    expect((await cascadeWarnings(db.knex, 'parent')).join('\n')).not.toContain('child_c');
    expect(await cascadeWarnings(db.knex, 'child_c')).toEqual([]);
    await db.knex.raw('INSERT INTO parent VALUES (1)');
    await db.knex.raw('INSERT INTO child_c VALUES (10, 1)');
    await db.knex.raw('DELETE FROM parent WHERE id = 1');
    expect(await select('SELECT * FROM child_c')).toEqual([]);
    const childRows = await outbox('child_c');
    const parentRows = await outbox('parent');
    expect(childRows.map((row) => row.op)).toEqual(['insert', 'delete']);
    expect(parentRows.map((row) => row.op)).toEqual(['insert', 'delete']);
    expect(Number(childRows[1].seq)).toBeLessThan(Number(parentRows[1].seq));
  });
});

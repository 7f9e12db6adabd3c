import { migrateOutbox, OUTBOX_TABLE } from '@tributary/db';
import { InvalidIdentifierError, TableSchema, decodeImage, decodeKey } from '@tributary/model';
import { TestDatabase, createMysqlDatabase, sleep } from '@tributary/testing';
import { Knex } from 'knex';
import { CaptureError, alterCapturedTable, captureStatus, installCapture, triggerNames } from '@tributary/capture';

interface OutboxRow {
  seq: number;
  op: string;
  pk: string;
  after_image: string | null;
  schema_hash: string;
}

/** One write of a writer loop, timed so the test can tell which ones ran into the lock. */
interface Write {
  id: number;
  startedAt: number;
  endedAt: number;
  updated: boolean;
}

let db: TestDatabase;

beforeAll(async () => {
  db = await createMysqlDatabase('trb_alter');
  await migrateOutbox(db.knex);
});

afterAll(async () => {
  await db.drop();
});

async function select<T>(sql: string, bindings: readonly Knex.Value[] = []): Promise<T[]> {
  const [rows] = (await db.knex.raw(sql, [...bindings])) as [T[], unknown];
  return rows;
}

function outbox(table: string): Promise<OutboxRow[]> {
  return select<OutboxRow>(`SELECT seq, op, pk, after_image, schema_hash FROM \`${OUTBOX_TABLE}\` WHERE table_name = ? ORDER BY seq`, [table]);
}

async function triggersOn(table: string): Promise<string[]> {
  const rows = await select<{ name: string }>(
    'SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ? ORDER BY name',
    [table],
  );
  return rows.map((row) => row.name);
}

describe('alterCapturedTable (MariaDB)', () => {
  it('neither fails nor loses a concurrent write while a captured column is dropped and another added', async () => {
    await db.knex.raw("CREATE TABLE al (id INT AUTO_INCREMENT PRIMARY KEY, writer INT NOT NULL, n INT NOT NULL, legacy VARCHAR(10) NULL DEFAULT 'old')");
    const old = await installCapture(db.knex, 'al');
    let stop = false;
    const errors: unknown[] = [];
    const writes: Write[] = [];
    // The application's writes name only the columns that survive the ALTER.
    const writer = async (w: number) => {
      for (let n = 0; !stop; n++) {
        const startedAt = Date.now();
        try {
          const updated = n % 3 === 2;
          const id = await db.knex.transaction(async (trx) => {
            const [header] = (await trx.raw('INSERT INTO al (writer, n) VALUES (?, ?)', [w, n])) as [{ insertId: number }];
            if (updated) await trx.raw('UPDATE al SET n = n + 1000 WHERE id = ?', [header.insertId]);
            return header.insertId;
          });
          writes.push({ id, startedAt, endedAt: Date.now(), updated });
        } catch (error) {
          errors.push(error);
        }
      }
    };
    const writers = [1, 2, 3].map(writer);
    await sleep(150);
    const HOLD_MS = 300;
    let lockedAt = 0;
    const recorded: TableSchema[] = [];
    const schema = await alterCapturedTable(db.knex, 'al', 'DROP COLUMN legacy, ADD COLUMN note VARCHAR(20) NULL', {
      // Holds the lock a while (like a slow control-schema write), so every writer runs into it.
      beforeInstall: async (installing) => {
        lockedAt = Date.now();
        recorded.push(installing);
        await sleep(HOLD_MS);
      },
    });
    await sleep(150);
    stop = true;
    await Promise.all(writers);

    expect(errors).toEqual([]);
    expect(schema.columns.map((column) => column.name)).toEqual(['id', 'writer', 'n', 'note']);
    expect(schema.hash).not.toBe(old.hash);
    expect(recorded).toEqual([schema]);
    expect(await captureStatus(db.knex, 'al')).toMatchObject({ installed: true, drifted: false, installedHash: schema.hash });

    // Every committed write is in the outbox: one insert per row, one update per updated row.
    const rows = await outbox('al');
    const ids = (await select<{ id: number }>('SELECT id FROM al ORDER BY id')).map((row) => row.id);
    expect(ids).toEqual(writes.map((write) => write.id).sort((a, b) => a - b));
    const inserts = rows.filter((row) => row.op === 'insert');
    const insertOf = new Map(inserts.map((row) => [Number(decodeKey(schema, row.pk).id), row]));
    expect([...insertOf.keys()].sort((a, b) => a - b)).toEqual(ids);
    expect(rows.filter((row) => row.op === 'update')).toHaveLength(writes.filter((write) => write.updated).length);

    // Before the ALTER the images have `legacy`; after it, `note` and no `legacy`.
    const before = rows.filter((row) => row.schema_hash === old.hash);
    const after = rows.filter((row) => row.schema_hash === schema.hash);
    expect(before.length).toBeGreaterThan(10);
    expect(after.length).toBeGreaterThan(10);
    expect(before.length + after.length).toBe(rows.length);
    for (const row of before) expect(decodeImage(old, row.after_image)).toMatchObject({ legacy: 'old' });
    for (const row of after) {
      expect(Object.keys(JSON.parse(row.after_image ?? '{}')).sort()).toEqual(['id', 'n', 'note', 'writer']);
      expect(decodeImage(schema, row.after_image)).toMatchObject({ note: null });
    }

    // Writes pending through the whole locked window waited, and the new triggers captured them.
    const blocked = writes.filter((write) => write.startedAt <= lockedAt && write.endedAt >= lockedAt + HOLD_MS - 10);
    expect(blocked.length).toBeGreaterThanOrEqual(1);
    for (const write of blocked) expect(insertOf.get(write.id)?.schema_hash).toBe(schema.hash);

    await db.knex.raw("INSERT INTO al (writer, n, note) VALUES (9, 9, 'hi')");
    const last = (await outbox('al')).pop();
    expect(decodeImage(schema, last?.after_image ?? null)).toEqual({ id: expect.any(Number), writer: 9, n: 9, note: 'hi' });
  });

  it('changes nothing when the spec is refused, the table is not capturable or the ALTER fails', async () => {
    await db.knex.raw('CREATE TABLE ab (id INT PRIMARY KEY, a INT NULL)');
    const schema = await installCapture(db.knex, 'ab');
    const refused = async (table: string, spec: string, message: RegExp) => {
      const error = await alterCapturedTable(db.knex, table, spec).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CaptureError);
      expect(String((error as Error).message)).toMatch(message);
    };
    await refused('ab', 'DROP COLUMN a; DROP TABLE ab', /must not contain ";"/);
    await refused('ab', 'DROP COLUMN a /*! , ADD COLUMN x INT */', /comments/);
    await refused('ab', 'DROP COLUMN `a', /unclosed backtick/);
    await refused('ab', 'RENAME TO ab2', /must not rename the table/);
    await refused('ab', 'DROP COLUMN nope', /^ALTER TABLE ab failed, the table is unchanged: .*nope/);
    await refused('ab', 'ADD COLUMN b INT NULL, DROP COLUMN nope', /the table is unchanged/);
    await refused('missing', 'ADD COLUMN b INT NULL', /table missing does not exist/);
    await refused(OUTBOX_TABLE, 'ADD COLUMN b INT NULL', /_tributary_outbox cannot be captured: .* is reserved/);
    await expect(alterCapturedTable(db.knex, 'ab`', 'ADD COLUMN b INT NULL')).rejects.toThrow(InvalidIdentifierError);

    const columns = await select<{ name: string }>(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      ['ab'],
    );
    expect(columns.map((column) => column.name)).toEqual(['id', 'a']);
    expect(await captureStatus(db.knex, 'ab')).toMatchObject({ installed: true, drifted: false, installedHash: schema.hash });
    await db.knex.raw('INSERT INTO ab VALUES (1, 1)');
    expect((await outbox('ab')).map((row) => decodeImage(schema, row.after_image))).toEqual([{ id: 1, a: 1 }]);
  });

  it('still installs the new triggers when beforeInstall fails, so writes keep working, and says so', async () => {
    await db.knex.raw('CREATE TABLE bf (id INT PRIMARY KEY, a INT NULL, b INT NULL)');
    await installCapture(db.knex, 'bf');
    const failure = new Error('control schema is down');
    const error = await alterCapturedTable(db.knex, 'bf', 'DROP COLUMN b', {
      beforeInstall: async () => {
        throw failure;
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CaptureError);
    expect((error as CaptureError).cause).toBe(failure);
    expect((error as Error).message).toMatch(/^ALTER TABLE bf was applied and capture regenerated \(schema [0-9a-f]+\), but beforeInstall failed: control schema is down/);
    expect(await captureStatus(db.knex, 'bf')).toMatchObject({ installed: true, drifted: false });
    await db.knex.raw('INSERT INTO bf VALUES (1, 1)'); // with the old triggers: Unknown column 'b' in 'NEW'
    expect((await outbox('bf')).map((row) => JSON.parse(row.after_image ?? '{}'))).toEqual([{ id: 1, a: 1 }]);
  });

  it('refuses an ALTER that would leave the table without a key capture can use, or with another key, changing nothing', async () => {
    await db.knex.raw('CREATE TABLE nk (id INT NOT NULL PRIMARY KEY, a INT NOT NULL, UNIQUE KEY ua (a))');
    const schema = await installCapture(db.knex, 'nk');
    await expect(alterCapturedTable(db.knex, 'nk', 'DROP PRIMARY KEY, DROP INDEX ua')).rejects.toThrow(
      /^ALTER TABLE nk refused, the table is unchanged: capture could not carry the result: .*nk has no primary key/,
    );
    await expect(alterCapturedTable(db.knex, 'nk', 'DROP PRIMARY KEY, ADD PRIMARY KEY (a)')).rejects.toThrow(
      /^ALTER TABLE nk refused, the table is unchanged: it would change the key capture uses from \(id\) to \(a\)/,
    );
    const keys = await select<{ key: string; column: string }>(
      'SELECT INDEX_NAME AS `key`, COLUMN_NAME AS `column` FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY 1, 2',
      ['nk'],
    );
    expect(keys).toEqual([{ key: 'PRIMARY', column: 'id' }, { key: 'ua', column: 'a' }]);
    expect(await captureStatus(db.knex, 'nk')).toMatchObject({ installed: true, drifted: false, installedHash: schema.hash });
    // The scratch copies are gone.
    expect(await select('SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?', ['\\_tributary\\_alter\\_%'])).toEqual([]);
    // An ALTER the check can carry out on its copy goes through as before.
    const widened = await alterCapturedTable(db.knex, 'nk', 'ADD COLUMN note VARCHAR(10) NULL');
    expect(widened.key).toEqual(['id']);
  });

  it('keeps the previous triggers and says the ALTER was applied when the new shape cannot be captured (a case the copy cannot try)', async () => {
    // The empty copy has no foreign keys, so an ALTER that drops one cannot be tried on it.
    await db.knex.raw('CREATE TABLE fkp (id INT NOT NULL PRIMARY KEY)');
    await db.knex.raw('CREATE TABLE fkc (id INT NOT NULL PRIMARY KEY, pid INT NULL, CONSTRAINT fk_fkc FOREIGN KEY (pid) REFERENCES fkp (id))');
    await installCapture(db.knex, 'fkc');
    await expect(alterCapturedTable(db.knex, 'fkc', 'DROP FOREIGN KEY fk_fkc, DROP PRIMARY KEY')).rejects.toThrow(
      /^ALTER TABLE fkc was applied, but the new shape cannot be captured: .*no primary key.*The previous triggers are still installed/,
    );
    expect(await triggersOn('fkc')).toEqual(Object.values(triggerNames('fkc')).sort());
  });
});

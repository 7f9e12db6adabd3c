import { createMysqlDatabase, sleep, TestDatabase } from '@tributary/testing';
import { TransientTargetError } from '../errors';
import { MysqlTarget } from './mysql.target';
import { allTypesColumns, allTypesRows, columnSpec, describeTargetContract } from '../test-kit/target.contract';
import { ApplyHooks } from '../target';
import { TableSchema, TargetTableSpec } from '@tributary/model';
import { migrateOutbox } from '@tributary/db';

describeTargetContract('mysql (MariaDB)', async () => {
  const db = await createMysqlDatabase('trib_tgt_my');
  const target = new MysqlTarget({ kind: 'mysql', url: db.url });
  return {
    target,
    async teardown() {
      await target.close();
      await db.drop();
    },
    unreachable: (password) => new MysqlTarget({ kind: 'mysql', url: `mysql://root:${password}@127.0.0.1:1/nowhere` }),
    insertDirectly: async (table, row) => void (await db.knex(table).insert(row)),
  };
}, { prepares: true });

describe('MysqlTarget specifics', () => {
  let db: TestDatabase;
  let target: MysqlTarget;
  const hooks: ApplyHooks = { recordRejected: async () => undefined };

  beforeAll(async () => {
    db = await createMysqlDatabase('trib_tgt_my');
    target = new MysqlTarget({ kind: 'mysql', url: db.url });
  });
  afterAll(async () => {
    await target?.close();
    await db?.drop();
  });

  it('marks its writes with @tributary_origin so capture triggers record them (invariant 6)', async () => {
    const table: TargetTableSpec = {
      name: 'marked',
      columns: [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('v', 'string', 'varchar(10)')],
      key: ['id'],
    };
    await target.ensureTable(table);
    await db.knex.raw('CREATE TABLE origin_log (n INT AUTO_INCREMENT PRIMARY KEY, op VARCHAR(6), origin VARCHAR(255), tz VARCHAR(64))');
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      // The trigger also records the writing session's time zone (the server's default is SYSTEM).
      await db.knex.raw(
        `CREATE TRIGGER marked_${op.toLowerCase()} AFTER ${op} ON marked FOR EACH ROW ` +
          `INSERT INTO origin_log (op, origin, tz) VALUES ('${op.toLowerCase()}', @tributary_origin, @@session.time_zone)`,
      );
    }
    const apply = (seq: number, op: 'insert' | 'update' | 'delete', v: string) =>
      target.apply(
        {
          routeId: 'marked',
          table,
          changes: [{ seq, op, key: { id: 1 }, before: op === 'insert' ? null : { id: 1, v: 'a' }, after: op === 'delete' ? null : { id: 1, v } }],
          watermark: seq,
          origin: `tributary:src${seq}`,
        },
        hooks,
      );
    await apply(1, 'insert', 'a');
    await apply(2, 'update', 'b');
    await apply(3, 'delete', '');
    const [rows] = await db.knex.raw('SELECT op, origin, tz FROM origin_log ORDER BY n');
    expect(rows).toEqual([
      { op: 'insert', origin: 'tributary:src1', tz: '+00:00' },
      { op: 'update', origin: 'tributary:src2', tz: '+00:00' },
      { op: 'delete', origin: 'tributary:src3', tz: '+00:00' },
    ]);
    // An application's own write on another connection is not marked.
    await db.knex.raw("INSERT INTO marked (id, v) VALUES (7, 'app')");
    const [[last]] = await db.knex.raw('SELECT origin FROM origin_log ORDER BY n DESC LIMIT 1');
    expect(last.origin).toBeNull();
  });

  it('marks each forwarded change with its own path, in one batch, in the batch and the row-by-row paths', async () => {
    const table: TargetTableSpec = {
      name: 'paths',
      columns: [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('v', 'string', 'varchar(3)')],
      key: ['id'],
    };
    await target.ensureTable(table);
    await db.knex.raw('CREATE TABLE path_log (n INT AUTO_INCREMENT PRIMARY KEY, id INT, op VARCHAR(6), origin VARCHAR(255))');
    for (const op of ['INSERT', 'DELETE']) {
      const row = op === 'DELETE' ? 'OLD' : 'NEW';
      await db.knex.raw(`CREATE TRIGGER paths_${op.toLowerCase()} AFTER ${op} ON paths FOR EACH ROW INSERT INTO path_log (id, op, origin) VALUES (${row}.id, '${op.toLowerCase()}', @tributary_origin)`);
    }
    await db.knex.raw("INSERT INTO paths (id, v) VALUES (5, 'old'), (6, 'old')");
    await db.knex.raw('DELETE FROM path_log');
    const insert = (seq: number, id: number, v: string, origin?: string) => ({ seq, op: 'insert' as const, key: { id }, before: null, after: { id, v }, ...(origin ? { origin } : {}) });
    const remove = (seq: number, id: number, origin?: string) => ({ seq, op: 'delete' as const, key: { id }, before: { id, v: 'old' }, after: null, ...(origin ? { origin } : {}) });
    const result = await target.apply(
      {
        routeId: 'paths',
        table,
        // Row 4's value is too long: the batch is rerun row by row, which must mark each row as well.
        changes: [insert(1, 1, 'a'), insert(2, 2, 'b', 'tributary:x,c'), remove(3, 5, 'tributary:x,c'), insert(4, 4, 'far too long', 'tributary:y,c'), insert(5, 3, 'c', 'tributary:y,c'), remove(6, 6)],
        watermark: 6,
        origin: 'tributary:c',
      },
      hooks,
    );
    expect(result.rejected.map((r) => r.change.seq)).toEqual([4]);
    const [rows] = await db.knex.raw('SELECT id, op, origin FROM path_log ORDER BY id');
    expect(rows).toEqual([
      { id: 1, op: 'insert', origin: 'tributary:c' },
      { id: 2, op: 'insert', origin: 'tributary:x,c' },
      { id: 3, op: 'insert', origin: 'tributary:y,c' },
      { id: 5, op: 'delete', origin: 'tributary:x,c' },
      { id: 6, op: 'delete', origin: 'tributary:c' },
    ]);
    // The batch path alone (nothing refused) marks by group the same way.
    await db.knex.raw('DELETE FROM path_log');
    await target.apply(
      { routeId: 'paths', table, changes: [insert(7, 7, 'd', 'tributary:z,c'), insert(8, 8, 'e'), insert(9, 9, 'f', 'tributary:z,c')], watermark: 9, origin: 'tributary:c' },
      hooks,
    );
    const [batchRows] = await db.knex.raw('SELECT id, origin FROM path_log ORDER BY id');
    expect(batchRows).toEqual([
      { id: 7, origin: 'tributary:z,c' },
      { id: 8, origin: 'tributary:c' },
      { id: 9, origin: 'tributary:z,c' },
    ]);
  });

  it('writes a delete that found no row, or another version of it, to its own outbox as the deleter saw it, when it captures the table (a ring passes it on)', async () => {
    await migrateOutbox(db.knex);
    const columns = [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('v', 'string', 'varchar(10)')];
    const table: TargetTableSpec = { name: 'ghosts', columns, key: ['id'] };
    const schema: TableSchema = { table: 'ghosts', columns, key: ['id'], keyKind: 'primary', hash: 'ghosthash' };
    await target.ensureTable(table);
    await db.knex.raw("INSERT INTO ghosts (id, v) VALUES (3, 'here'), (4, 'older'), (5, 'older')");
    const remove = (seq: number, id: number, v: string, origin?: string) => ({ seq, op: 'delete' as const, key: { id }, before: { id, v }, after: null, ...(origin ? { origin } : {}) });
    await target.apply(
      {
        routeId: 'ghosts',
        table,
        // 1: no row (recorded); 2: inserted earlier in the batch, so only the delete runs, over no row (recorded);
        // 3: there as the deleter saw it (the trigger records it);
        // 4: there, but not as the deleter saw it (recorded as it saw it: the trigger records 'older').
        changes: [
          remove(1, 1, 'gone', 'tributary:x,c'),
          { seq: 2, op: 'insert', key: { id: 2 }, before: null, after: { id: 2, v: 'new' } },
          remove(3, 2, 'new'),
          remove(4, 3, 'here'),
          remove(5, 4, 'seen'),
          // 5: updated then deleted in one batch: only the delete runs, over 'older', so it is recorded as seen.
          { seq: 6, op: 'update', key: { id: 5 }, before: { id: 5, v: 'older' }, after: { id: 5, v: 'newer' } },
          remove(7, 5, 'newer'),
        ],
        watermark: 7,
        origin: 'tributary:c',
        capturedAs: schema,
      },
      { ...hooks, resolveConflicts: async (changes) => changes, remembersDeletes: true },
    );
    const [rows] = await db.knex.raw('SELECT table_name, op, pk, before_image, after_image, origin, schema_hash FROM _tributary_outbox ORDER BY seq');
    expect(rows).toEqual([
      { table_name: 'ghosts', op: 'delete', pk: '{"id":1}', before_image: '{"id":1,"v":"gone"}', after_image: null, origin: 'tributary:x,c', schema_hash: 'ghosthash' },
      { table_name: 'ghosts', op: 'delete', pk: '{"id":2}', before_image: '{"id":2,"v":"new"}', after_image: null, origin: 'tributary:c', schema_hash: 'ghosthash' },
      { table_name: 'ghosts', op: 'delete', pk: '{"id":4}', before_image: '{"id":4,"v":"seen"}', after_image: null, origin: 'tributary:c', schema_hash: 'ghosthash' },
      { table_name: 'ghosts', op: 'delete', pk: '{"id":5}', before_image: '{"id":5,"v":"newer"}', after_image: null, origin: 'tributary:c', schema_hash: 'ghosthash' },
    ]);
    expect(await target.readRows(table)).toEqual([]);
  });

  it('recovers when the server kills its connections', async () => {
    const table: TargetTableSpec = {
      name: 'killed',
      columns: [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('v', 'string', 'varchar(10)')],
      key: ['id'],
    };
    await target.ensureTable(table);
    const [ids] = await db.knex.raw('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()');
    for (const { id } of ids as { id: number }[]) await db.knex.raw(`KILL CONNECTION ${Number(id)}`).catch(() => undefined);
    await sleep(100);
    const apply = () =>
      target.apply({ routeId: 'killed', table, changes: [{ seq: 1, op: 'insert', key: { id: 1 }, before: null, after: { id: 1, v: 'ok' } }], watermark: 1, origin: 'x' }, hooks);
    await apply().catch((error: unknown) => {
      expect(error).toBeInstanceOf(TransientTargetError); // a retry is allowed; a crash or another error is not
      return apply();
    });
    expect(await target.readRows(table)).toEqual([{ id: 1, v: 'ok' }]);
  });

  it("carries out a step as one ALTER beside definitions holding '?', keeps a renamed JSON column JSON, and finds the step done after a crash before its record", async () => {
    const columns = [
      columnSpec('id', 'int', 'int(11)', { nullable: false }),
      columnSpec('e', 'enum', "enum('a?','b')", { nullable: false, members: ['a?', 'b'] }),
      columnSpec('js', 'json', 'json'),
      columnSpec('old', 'string', 'varchar(10)'),
    ];
    const table: TargetTableSpec = { name: 'stepped', columns, key: ['id'] };
    await target.ensureTable(table);
    const row = { id: 1, e: 'a?', js: '[1]', old: 'x' };
    await target.apply({ routeId: 'stepped', table, changes: [{ seq: 1, op: 'insert', key: { id: 1 }, before: null, after: row }], watermark: 1, origin: 'x' }, hooks);
    const later: TargetTableSpec = {
      ...table,
      columns: [columns[0], { ...columns[1], nullable: true }, { ...columns[2], name: 'doc' }],
      steps: [{ id: 1, dropped: ['old'], renamed: [{ from: 'js', to: 'doc' }] }],
    };
    await target.ensureTable(later);
    const [checks] = await db.knex.raw(
      "SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'stepped'",
    );
    expect(checks).toEqual([{ clause: 'json_valid(`doc`)' }]);
    expect(await target.readRows(later)).toEqual([{ id: 1, e: 'a?', doc: '[1]' }]);
    // As if the process died between the ALTER and its record: judged again by presence, the step is found done.
    await db.knex.raw("DELETE FROM _tributary_table_steps WHERE table_name = 'stepped'");
    await target.ensureTable(later);
    expect(await target.readRows(later)).toEqual([{ id: 1, e: 'a?', doc: '[1]' }]);
    const [steps] = await db.knex.raw("SELECT step_id FROM _tributary_table_steps WHERE table_name = 'stepped'");
    expect(steps).toEqual([{ step_id: 1 }]);
  });

  it('keeps the source column types and stores BIT as numbers and TIMESTAMP in UTC', async () => {
    const table: TargetTableSpec = { name: 'all_types', columns: allTypesColumns(), key: ['id'] };
    await target.ensureTable(table);
    const [columns] = await db.knex.raw(
      "SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'all_types'",
    );
    const types = Object.fromEntries((columns as { name: string; type: string }[]).map((c) => [c.name, c.type]));
    for (const spec of allTypesColumns()) {
      if (spec.type !== 'json') expect([spec.name, types[spec.name]]).toEqual([spec.name, spec.columnType]);
    }
    const [checks] = await db.knex.raw(
      "SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'all_types'",
    );
    expect(checks).toEqual([{ clause: 'json_valid(`js`)' }]);

    const [row] = allTypesRows();
    await target.apply({ routeId: 'types', table, changes: [{ seq: 1, op: 'insert', key: { id: 1 }, before: null, after: row }], watermark: 1, origin: 'x' }, hooks);
    await db.knex.raw("SET time_zone = '+05:00'");
    const [[stored]] = await db.knex.raw('SELECT b10 + 0 AS b10, b64 + 0 AS b64, UNIX_TIMESTAMP(ts) AS epoch, CAST(biu AS CHAR) AS biu FROM all_types WHERE id = 1');
    expect(stored).toEqual({ b10: 513, b64: '18446744073709551615', epoch: '2147483647.999999', biu: '18446744073709551615' });
  });
});

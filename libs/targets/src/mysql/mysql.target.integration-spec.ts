import { createMysqlDatabase, sleep, TestDatabase } from '@tributary/testing';
import { TransientTargetError } from '../errors';
import { MysqlTarget } from './mysql.target';
import { allTypesColumns, allTypesRows, columnSpec, describeTargetContract } from '../test-kit/target.contract';
import { ApplyHooks } from '../target';
import { TargetTableSpec } from '@tributary/model';

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

import knexFactory from 'knex';
import { types as pgTypes } from 'pg';
import { keyHash, RoutePartition, TargetTableSpec } from '@tributary/model';
import { createPostgresDatabase, sleep, TestDatabase } from '@tributary/testing';
import { TransientTargetError } from '../errors';
import { partitionLockKeys, tableLockKeys } from './postgres-sql';
import { PostgresTarget } from './postgres.target';
import { allTypesColumns, allTypesRows, describeTargetContract } from '../test-kit/target.contract';
import { ApplyHooks } from '../target';

/** Session defaults chosen to break every text form the target reads, unless it sets its own. */
async function hostileDatabase(): Promise<TestDatabase> {
  const db = await createPostgresDatabase('trib_tgt_pg');
  for (const setting of ["timezone TO 'Asia/Kolkata'", "datestyle TO 'SQL, DMY'", "intervalstyle TO 'iso_8601'", 'extra_float_digits TO -3']) {
    await db.knex.raw(`ALTER DATABASE "${db.name}" SET ${setting}`);
  }
  await db.knex.destroy(); // reconnect to pick up the defaults
  db.knex.initialize();
  return db;
}

describeTargetContract('postgres', async () => {
  const db = await hostileDatabase();
  const target = new PostgresTarget({ kind: 'postgres', url: db.url });
  return {
    target,
    async teardown() {
      await target.close();
      await db.drop();
    },
    unreachable: (password) => new PostgresTarget({ kind: 'postgres', url: `postgres://postgres:${password}@127.0.0.1:1/nowhere` }),
    insertDirectly: async (table, row) => void (await db.knex(table).insert(row)),
  };
}, { prepares: true });

describe('PostgresTarget specifics', () => {
  let db: TestDatabase;
  let target: PostgresTarget;
  const table: TargetTableSpec = { name: 'all_types', columns: allTypesColumns(), key: ['id'] };
  const hooks: ApplyHooks = { recordRejected: async () => undefined };

  beforeAll(async () => {
    db = await hostileDatabase();
    target = new PostgresTarget({ kind: 'postgres', url: db.url });
    await target.ensureTable(table);
  });
  afterAll(async () => {
    await target?.close();
    await db?.drop();
  });

  it('creates each column with the PostgreSQL type chosen for it', async () => {
    const { rows } = await db.knex.raw<{ rows: { attname: string; type: string; notnull: boolean }[] }>(
      `SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull AS notnull FROM pg_attribute
       WHERE attrelid = 'all_types'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    );
    const types = Object.fromEntries(rows.map((r) => [r.attname, r.type]));
    expect(types).toEqual({
      _tributary_seq: 'bigint',
      id: 'integer',
      ti: 'smallint',
      tiu: 'smallint',
      si: 'smallint',
      siu: 'integer',
      mi: 'integer',
      miu: 'integer',
      i: 'integer',
      iu: 'bigint',
      bi: 'bigint',
      biu: 'numeric(20,0)',
      dec: 'numeric(30,10)',
      f: 'real',
      d: 'double precision',
      dt: 'date',
      dtm: 'timestamp(6) without time zone',
      ts: 'timestamp(6) with time zone',
      tm: 'interval(3)',
      yr: 'smallint',
      ch: 'character varying(10)',
      vc: 'character varying(50)',
      tx: 'text',
      bn: 'bytea',
      vb: 'bytea',
      bl: 'bytea',
      b1: 'bit(1)',
      b10: 'bit(10)',
      b64: 'bit(64)',
      en: 'text',
      st: 'text',
      js: 'jsonb',
    });
    expect(rows.filter((r) => r.notnull).map((r) => r.attname)).toEqual(['id']);
    const pk = await db.knex.raw<{ rows: { def: string }[] }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = '_tributary_rows'::regclass AND contype = 'p'`,
    );
    expect(pk.rows[0].def).toBe('PRIMARY KEY (table_name, key_hash)');
  });

  it('stores instants in UTC, durations as intervals and versions per row', async () => {
    const [row] = allTypesRows();
    await target.apply({ routeId: 'pg-specific', table, changes: [{ seq: 3, op: 'insert', key: { id: 1 }, before: null, after: row }], watermark: 3, origin: 'x' }, hooks);
    expect((await db.knex.raw('SHOW timezone')).rows).toEqual([{ TimeZone: 'Asia/Kolkata' }]);
    const { rows } = await db.knex.raw<{ rows: { epoch: string; hours: string; seq: string }[] }>(
      `SELECT extract(epoch FROM ts)::text AS epoch, extract(epoch FROM tm)::text AS hours, _tributary_seq AS seq FROM all_types WHERE id = 1`,
    );
    expect(rows).toEqual([{ epoch: '2147483647.999999', hours: '-3020398.123000', seq: '3' }]);
    // The version lives in the row; the version table holds tombstones only.
    expect((await db.knex.raw(`SELECT count(*)::int AS n FROM _tributary_rows WHERE table_name = 'all_types'`)).rows).toEqual([{ n: 0 }]);
  });

  it('recovers when the server kills its connections', async () => {
    await target.ping();
    await db.knex.raw('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    await sleep(100);
    const [row] = allTypesRows();
    const change = { seq: 9, op: 'update' as const, key: { id: 1 }, before: row, after: { ...row, vc: 'after kill' } };
    const apply = () => target.apply({ routeId: 'pg-specific', table, changes: [change], watermark: 9, origin: 'x' }, hooks);
    await apply().catch((error: unknown) => {
      expect(error).toBeInstanceOf(TransientTargetError); // a retry is allowed; a crash or another error is not
      return apply();
    });
    expect((await target.readRows(table)).map((r) => r.vc)).toEqual(['after kill']);
  });

  it('refuses only the rows PostgreSQL cannot hold (NUL in text or JSON) when values travel as arrays', async () => {
    const spec: TargetTableSpec = {
      name: 'nul_rows',
      columns: allTypesColumns().filter((c) => ['id', 'vc', 'js'].includes(c.name)),
      key: ['id'],
    };
    await target.ensureTable(spec);
    const refused: number[] = [];
    const row = (id: number, vc: string, js: string | null) => ({ id, vc, js });
    const changes = [row(1, 'ok', '{"a":1}'), row(2, 'nul\u0000byte', null), row(3, 'ok', '"\\u0000"'), row(4, 'ok too', null)].map(
      (after, i) => ({ seq: i + 1, op: 'insert' as const, key: { id: after.id }, before: null, after }),
    );
    const result = await target.apply(
      { routeId: 'nul', table: spec, changes, watermark: 4, origin: 'x' },
      { recordRejected: async (rejected) => void refused.push(...rejected.map((r) => r.change.seq)) },
    );
    expect(result.applied).toBe(2);
    expect(refused).toEqual([2, 3]);
    expect((await target.readRows(spec)).map((r) => r.id)).toEqual([1, 4]);
  });

  it('matches bit(n) and bytea keys exactly when deleting', async () => {
    const spec: TargetTableSpec = {
      name: 'bit_keys',
      columns: allTypesColumns().filter((c) => ['b10', 'bn', 'vc'].includes(c.name)).map((c) => ({ ...c, nullable: c.name === 'vc' })),
      key: ['b10', 'bn'],
    };
    await target.ensureTable(spec);
    const row = (b10: string, byte: number) => ({ b10, bn: Buffer.from([byte, 0, 0, byte]), vc: `${b10}/${byte}` });
    const rows = [row('0000000001', 1), row('0000000001', 2), row('1000000000', 1)];
    const at = (seq: number, op: 'insert' | 'delete', r: ReturnType<typeof row>) => ({
      seq, op, key: { b10: r.b10, bn: r.bn }, before: op === 'delete' ? r : null, after: op === 'insert' ? r : null,
    });
    await target.apply({ routeId: 'bits', table: spec, changes: rows.map((r, i) => at(i + 1, 'insert', r)), watermark: 3, origin: 'x' }, hooks);
    const result = await target.apply({ routeId: 'bits', table: spec, changes: [at(4, 'delete', rows[1])], watermark: 4, origin: 'x' }, hooks);
    expect(result.applied).toBe(1);
    expect((await target.readRows(spec)).map((r) => r.vc)).toEqual(['0000000001/1', '1000000000/1']);
    const plan = await db.knex.raw<{ rows: { 'QUERY PLAN': string }[] }>(
      `EXPLAIN DELETE FROM bit_keys WHERE (b10, bn) IN (SELECT * FROM unnest('{0000000001}'::bit(10)[], '{"\\\\x01000001"}'::bytea[]))`,
    );
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Index Scan using bit_keys_pkey/);
  });

  it('lets batches of different partitions of a table write side by side, and makes a batch of any key wait for them', async () => {
    const spec: TargetTableSpec = { name: 'parted', columns: allTypesColumns().filter((c) => ['id', 'vc'].includes(c.name)), key: ['id'] };
    await target.ensureTable(spec);
    const batch = (routeId: string, seq: number, partition?: RoutePartition) => ({
      routeId,
      table: spec,
      changes: [{ seq, op: 'insert' as const, key: { id: seq }, before: null, after: { id: seq, vc: `v${seq}` } }],
      watermark: seq,
      origin: 'x',
      ...(partition ? { partition } : {}),
    });
    // Another worker's batch of partition 0 of 2 holds its locks, as the target takes them.
    const other = knexFactory({ client: 'pg', connection: db.url, pool: { min: 1, max: 1 } });
    const held = [...tableLockKeys('parted'), ...partitionLockKeys('parted', { index: 0, count: 2 })];
    await other.raw('SELECT pg_advisory_lock_shared(?, ?), pg_advisory_lock(?, ?)', held);
    try {
      await target.apply(batch('parted.p1of2', 1, { index: 1, count: 2 }), hooks);
      const settled: string[] = [];
      const samePartition = target.apply(batch('parted.p0of2', 2, { index: 0, count: 2 }), hooks).then(() => settled.push('partition 0'));
      const anyKey = target.apply(batch('parted', 3), hooks).then(() => settled.push('any key'));
      await sleep(300);
      expect(settled).toEqual([]);
      await other.raw('SELECT pg_advisory_unlock(?, ?), pg_advisory_unlock_shared(?, ?)', [...held.slice(2), ...held.slice(0, 2)]);
      await Promise.all([samePartition, anyKey]);
      expect(settled.sort()).toEqual(['any key', 'partition 0']);
    } finally {
      await other.destroy();
    }
    expect((await target.readRows(spec)).map((r) => r.id)).toEqual([1, 2, 3]);
    expect((await target.readCheckpoint('parted.p1of2'))?.watermark).toBe(1);
  });

  it('upgrades a table whose versions are in _tributary_rows: adds the version column and keeps honouring the old versions', async () => {
    const spec: TargetTableSpec = { name: 'old_style', columns: allTypesColumns().filter((c) => ['id', 'vc'].includes(c.name)), key: ['id'] };
    // As the claim protocol left it: the table without a version column, each row's version beside it.
    await db.knex.raw('CREATE TABLE old_style (id integer PRIMARY KEY, vc varchar(255))');
    await db.knex.raw(`INSERT INTO old_style VALUES (1, 'at 20'), (2, 'at 30')`);
    await db.knex.raw(
      `INSERT INTO _tributary_rows (table_name, key_hash, seq, deleted) VALUES ('old_style', ?, 20, false), ('old_style', ?, 30, false), ('old_style', ?, 40, true)`,
      [keyHash('old_style', ['id'], { id: 1 }), keyHash('old_style', ['id'], { id: 2 }), keyHash('old_style', ['id'], { id: 3 })],
    );
    const upsert = (seq: number, id: number) => ({ seq, op: 'insert' as const, key: { id }, before: null, after: { id, vc: `at ${seq}` } });
    // No ensureTable first (a worker of the old version may have made it): apply adds the column itself.
    const result = await target.apply(
      { routeId: 'old', table: spec, changes: [upsert(15, 1), upsert(35, 2), upsert(39, 3), upsert(41, 4)], watermark: 41, origin: 'x' },
      hooks,
    );
    expect(result).toMatchObject({ applied: 2, skipped: 2 });
    const { rows } = await db.knex.raw('SELECT id, vc, _tributary_seq AS seq FROM old_style ORDER BY id');
    expect(rows).toEqual([
      { id: 1, vc: 'at 20', seq: null },
      { id: 2, vc: 'at 35', seq: '35' },
      { id: 4, vc: 'at 41', seq: '41' },
    ]);
  });

  it('leaves the process-wide pg type parsers alone', () => {
    expect(pgTypes.getTypeParser(1082, 'text')('2024-01-02')).toBeInstanceOf(Date);
    expect(pgTypes.getTypeParser(114, 'text')('{"a":1}')).toEqual({ a: 1 });
  });
});

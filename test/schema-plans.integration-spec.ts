import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createKnex from 'knex';
import { SnapshotRepository } from '@tributary/control';
import { Row } from '@tributary/model';
import { MysqlTarget, PostgresTarget, SqliteTarget, Target } from '@tributary/targets';
import { AppProcess, createMysqlDatabase, createPipeline, Pipeline, sleep, TestDatabase, waitFor } from '@tributary/testing';

/**
 * Schema changes beyond an added column reach every target (issue #17):
 * a column renamed, one dropped (kept or dropped at the target, per route),
 * one widened, through the safe ALTER path, planned first by a dry run that
 * changes nothing; a narrowing the source applied to rows no trigger saw,
 * healed by the re-sync the change asked for; and a rename made behind
 * Tributary's back, adopted in one call with the rename named. Changes
 * captured before a rename are applied after it with the route's rules in
 * their own names (the worker is stopped across the ALTER to make sure).
 */
describe('schema changes carried to PostgreSQL, MySQL and SQLite targets', () => {
  let pipeline: Pipeline;
  let mysql: TestDatabase;
  let dir: string;
  let worker: AppProcess | null = null;
  const targets: Record<string, Target> = {};
  const env = () => ({ SQLITE_DIR: dir });
  const ROUTES = ['acc-pg', 'acc-my', 'acc-lite'];

  beforeAll(async () => {
    pipeline = await createPipeline();
    mysql = await createMysqlDatabase('trib_plan_my');
    dir = mkdtempSync(join(tmpdir(), 'trib-plan-'));
    const { source, setup } = pipeline;
    await source.knex.raw('CREATE TABLE accounts (id INT PRIMARY KEY, status VARCHAR(20) NOT NULL, note VARCHAR(40) NULL, legacy INT NULL, amount DECIMAL(10,2) NOT NULL)');
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 'accounts');
    const sqliteUrl = `sqlite://${join(dir, 'plan.db')}`;
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    await setup.addTarget({ id: 'my', kind: 'mysql', url: mysql.url, options: {} });
    await setup.addTarget({ id: 'lite', kind: 'sqlite', url: sqliteUrl, options: {} });
    const route = { sourceId: 'src', table: 'accounts', targetTable: 'accounts', enabled: true };
    await setup.routes.ensure({ ...route, id: 'acc-pg', targetId: 'pg', droppedColumns: 'drop' });
    await setup.routes.ensure({ ...route, id: 'acc-my', targetId: 'my', mapping: { rename: { status: 'acct_status' } } });
    await setup.routes.ensure({ ...route, id: 'acc-lite', targetId: 'lite', filter: "status <> 'closed'", droppedColumns: 'drop' });
    targets.pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
    targets.my = new MysqlTarget({ kind: 'mysql', url: mysql.url });
    targets.lite = new SqliteTarget({ kind: 'sqlite', url: sqliteUrl });
    for (let id = 1; id <= 30; id++) {
      await source.knex.raw('INSERT INTO accounts VALUES (?, ?, ?, ?, ?)', [id, id % 3 === 0 ? 'closed' : 'open', `n${id}`, id, id + 0.25]);
    }
    pipeline.start('relay', env());
    worker = pipeline.start('worker', env());
    await catchUp();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(Object.values(targets).map((target) => target.close()));
    await pipeline?.teardown();
    await mysql?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function catchUp(): Promise<void> {
    for (const route of ROUTES) {
      await pipeline.waitForCatchUp(route, 30_000).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${pipeline.logs()}`);
      });
    }
  }

  async function columnsAt(target: 'pg' | 'my' | 'lite'): Promise<string[]> {
    if (target === 'pg') {
      const result = await pipeline.postgres.knex.raw<{ rows: { name: string }[] }>(
        // Less the target's own bookkeeping column (_tributary_seq).
        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'accounts' AND column_name NOT LIKE '\\_tributary\\_%' ORDER BY ordinal_position",
      );
      return result.rows.map((row) => row.name);
    }
    if (target === 'my') {
      const [rows] = (await mysql.knex.raw('SHOW COLUMNS FROM accounts')) as [Array<{ Field: string }>];
      return rows.map((row) => row.Field).filter(ours);
    }
    const knex = createKnex({ client: 'better-sqlite3', connection: { filename: join(dir, 'plan.db') }, useNullAsDefault: true });
    try {
      const info = (await knex.raw("SELECT name FROM pragma_table_info('accounts') ORDER BY cid")) as Array<{ name: string }>;
      return info.map((row) => row.name).filter(ours);
    } finally {
      await knex.destroy();
    }
  }

  /** Not a target's own bookkeeping column. */
  const ours = (name: string) => !name.startsWith('_tributary_');

  async function sourceColumns(): Promise<string[]> {
    const [rows] = (await pipeline.source.knex.raw('SHOW COLUMNS FROM accounts')) as [Array<{ Field: string }>];
    return rows.map((row) => row.Field);
  }

  async function noDeadLetters(): Promise<void> {
    for (const route of ROUTES) expect({ route, letters: await pipeline.deadLetters.list(route, { status: 'all', limit: 10 }) }).toEqual({ route, letters: [] });
  }

  /** The source's rows in the target's names and the target's rows, as the comparison reads them. */
  async function compared(target: 'pg' | 'my' | 'lite'): Promise<{ source: Row[]; target: Row[] }> {
    return pipeline.compare('accounts', targets[target], 'accounts');
  }

  const ALTER = 'RENAME COLUMN status TO state, DROP COLUMN legacy, MODIFY note VARCHAR(80) NULL';

  it('plans a rename, a drop and a widening per route in a dry run that changes nothing', async () => {
    const hashBefore = (await pipeline.catalog.getCapturedTable('src', 'accounts'))!.schemaHash;
    const planned = await pipeline.setup.schemaChanges.alter('src', 'accounts', ALTER, { dryRun: true });
    expect(planned.applied).toBe(false);
    expect(planned.schema.columns.map((column) => column.name)).toEqual(['id', 'state', 'note', 'amount']);
    expect(planned.plan.changes.map((change) => [change.kind, change.column, change.exact])).toEqual([
      ['dropped', 'legacy', true],
      ['renamed', 'state', true],
      ['widened', 'note', true],
    ]);
    const byRoute = Object.fromEntries(planned.plan.routes.map((route) => [route.route, route]));
    expect(byRoute['acc-pg']).toMatchObject({
      actions: ['rename column status to state (its values kept)', 'drop column legacy', 'widen column note (varchar(40) → varchar(80))'],
      routeChanges: [],
      resync: 'none',
      waits: null,
    });
    // MySQL's mapping already names the target column: the mapping follows, the column stays; legacy is kept.
    expect(byRoute['acc-my'].actions).toEqual([expect.stringMatching(/^keep column legacy/), 'widen column note (varchar(40) → varchar(80))']);
    expect(byRoute['acc-my'].routeChanges).toEqual(['mapping: {"rename":{"status":"acct_status"}} → {"rename":{"state":"acct_status"}}']);
    expect(byRoute['acc-lite'].routeChanges).toEqual([`filter: "status <> 'closed'" → "state <> 'closed'"`]);

    // Nothing changed: not the source, not the configuration, not a target.
    expect(await sourceColumns()).toEqual(['id', 'status', 'note', 'legacy', 'amount']);
    expect((await pipeline.catalog.getCapturedTable('src', 'accounts'))!.schemaHash).toBe(hashBefore);
    expect((await pipeline.catalog.getRoute('acc-lite'))!.filter).toBe("status <> 'closed'");
    expect(await pipeline.catalog.schemaChanges.list('src', 'accounts')).toEqual([]);
    expect(await columnsAt('pg')).toEqual(['id', 'status', 'note', 'legacy', 'amount']);
  });

  it('carries the change to every target at its place in the stream, changes from before it applied in the old names', async () => {
    const { source, setup } = pipeline;
    // Changes of the old shape wait in the outbox while the table changes, and are applied after it.
    await worker!.kill('SIGKILL');
    await source.knex.raw("UPDATE accounts SET status = 'closed' WHERE id BETWEEN 1 AND 5");
    await source.knex.raw("INSERT INTO accounts VALUES (31, 'open', 'n31', 31, 31.25), (32, 'closed', 'n32', 32, 32.25)");

    // A writer keeps updating columns both shapes have while the ALTER runs.
    let stop = false;
    let writes = 0;
    const writer = (async () => {
      while (!stop) {
        await source.knex.raw('UPDATE accounts SET amount = amount + 1 WHERE id = ?', [7 + (writes % 10)]);
        writes++;
        await sleep(5);
      }
    })();
    await sleep(200);
    const altered = await setup.schemaChanges.alter('src', 'accounts', ALTER, { requestedBy: 'test' });
    await sleep(200);
    stop = true;
    await writer;
    expect(writes).toBeGreaterThan(10);
    expect(altered.applied).toBe(true);
    expect(altered.schema.columns.map((column) => column.name)).toEqual(['id', 'state', 'note', 'amount']);

    // The new shape: a renamed column written, a widened one filled, a row deleted.
    await source.knex.raw("UPDATE accounts SET state = 'closed' WHERE id BETWEEN 10 AND 12");
    await source.knex.raw("INSERT INTO accounts (id, state, note, amount) VALUES (33, 'open', ?, 33.25)", ['a note longer than the forty characters it had before the change']);
    await source.knex.raw('DELETE FROM accounts WHERE id = 2');
    worker = pipeline.start('worker', env());
    await catchUp();
    await noDeadLetters();

    // The routes' rules were rewritten into the new names.
    expect((await pipeline.catalog.getRoute('acc-lite'))!.filter).toBe("state <> 'closed'");
    expect((await pipeline.catalog.getRoute('acc-my'))!.mapping).toEqual({ rename: { state: 'acct_status' } });

    // PostgreSQL: renamed and dropped as the source; every row equal.
    expect(await columnsAt('pg')).toEqual(['id', 'state', 'note', 'amount']);
    const pg = await compared('pg');
    expect(pg.target).toEqual(pg.source);
    expect(pg.source).toHaveLength(32);

    // MySQL: the mapped column stays acct_status; legacy is kept with the values it had.
    expect(await columnsAt('my')).toEqual(['id', 'acct_status', 'note', 'legacy', 'amount']);
    const [myRows] = (await mysql.knex.raw('SELECT id, acct_status, note, legacy, CAST(amount AS CHAR) AS amount FROM accounts ORDER BY id')) as [Row[]];
    const [sourceRows] = (await source.knex.raw('SELECT id, state, note, CAST(amount AS CHAR) AS amount FROM accounts ORDER BY id')) as [Row[]];
    expect(myRows.map(({ id, acct_status, note, amount }) => ({ id, state: acct_status, note, amount }))).toEqual(sourceRows);
    expect(myRows.filter((row) => row.id === 1 || row.id === 33).map((row) => row.legacy)).toEqual([1, null]);

    // SQLite: renamed and dropped, and the filter held on both sides of the rename.
    expect(await columnsAt('lite')).toEqual(['id', 'state', 'note', 'amount']);
    const lite = await compared('lite');
    expect(lite.target).toEqual(lite.source.filter((row) => row.state !== 'closed'));
    expect(lite.target.some((row) => Number(row.id) <= 5 || (Number(row.id) >= 10 && Number(row.id) <= 12))).toBe(false);
    expect(lite.target.map((row) => Number(row.id))).toContain(33);
  }, 120_000);

  it('re-syncs the routes a narrowing leaves inexact when asked, so the rounded values reach the targets', async () => {
    const planned = await pipeline.setup.schemaChanges.alter('src', 'accounts', 'MODIFY amount DECIMAL(10,1) NOT NULL', { dryRun: true });
    expect(planned.plan.changes).toEqual([expect.objectContaining({ kind: 'retyped', column: 'amount', exact: false })]);
    expect(planned.plan.routes.map((route) => route.resync)).toEqual(['needed', 'needed', 'needed']);

    const altered = await pipeline.setup.schemaChanges.alter('src', 'accounts', 'MODIFY amount DECIMAL(10,1) NOT NULL', { resync: true, requestedBy: 'test' });
    expect(altered.plan.routes.map((route) => [route.route, route.resync])).toEqual([
      ['acc-lite', 'requested'],
      ['acc-my', 'requested'],
      ['acc-pg', 'requested'],
    ]);
    const snapshots = new SnapshotRepository(pipeline.control.knex);
    for (const route of ROUTES) {
      await waitFor(async () => (await snapshots.get(route))?.status === 'done', { timeoutMs: 60_000, what: `re-sync of ${route}` });
    }
    await catchUp();
    await noDeadLetters();
    // Every amount was x.25 (or more, from the writer) and the source rounded it; the targets now hold the rounded value.
    const [sourceRows] = (await pipeline.source.knex.raw('SELECT id, CAST(amount AS CHAR) AS amount FROM accounts ORDER BY id')) as [Array<{ id: number; amount: string }>];
    const pgRows = await pipeline.postgres.knex.raw<{ rows: Array<{ id: number; amount: string }> }>('SELECT id, amount::text AS amount FROM accounts ORDER BY id');
    expect(pgRows.rows.map((row) => [row.id, Number(row.amount)])).toEqual(sourceRows.map((row) => [row.id, Number(row.amount)]));
    expect(sourceRows.every((row) => /\.\d$/.test(row.amount))).toBe(true);
  }, 120_000);

  it('adopts a rename made behind its back in one call, after a dry run that shows what the rename saves', async () => {
    const { source, setup } = pipeline;
    await source.knex.raw('ALTER TABLE accounts CHANGE note remark VARCHAR(80) NULL');
    // The measured rule: a captured column renamed behind Tributary's back breaks every write until capture is regenerated.
    await expect(source.knex.raw('UPDATE accounts SET amount = amount + 1 WHERE id = 3')).rejects.toThrow(/note/);

    const unnamed = await setup.schemaChanges.adopt('src', 'accounts', {}, { dryRun: true });
    expect(unnamed.plan.changes.map((change) => [change.kind, change.column])).toEqual([
      ['dropped', 'note'],
      ['added', 'remark'],
    ]);
    expect(unnamed.plan.routes.find((route) => route.route === 'acc-pg')!.actions).toContain('drop column note');

    const named = await setup.schemaChanges.adopt('src', 'accounts', { note: 'remark' }, { dryRun: true });
    expect(named.plan.changes.map((change) => [change.kind, change.column])).toEqual([['renamed', 'remark']]);
    expect(named.plan.routes.find((route) => route.route === 'acc-pg')!.actions).toEqual(['rename column note to remark (its values kept)']);
    await expect(setup.schemaChanges.adopt('src', 'accounts', { amount: 'remark' }, { dryRun: true })).rejects.toThrow(/still has a column amount/);

    const adopted = await setup.schemaChanges.adopt('src', 'accounts', { note: 'remark' }, { requestedBy: 'test' });
    expect(adopted.applied).toBe(true);
    expect((await setup.tables.get('src', 'accounts')).status).toMatchObject({ drifted: false });
    await source.knex.raw("UPDATE accounts SET amount = amount + 1, remark = 'after' WHERE id = 3");
    await catchUp();
    await noDeadLetters();
    expect(await columnsAt('pg')).toEqual(['id', 'state', 'remark', 'amount']);
    const pg = await compared('pg');
    // amount keeps its two decimals at the target since the narrowing above (a retype is not carried): compare values.
    const valued = (rows: Row[]) => rows.map((row) => ({ ...row, amount: Number(row.amount) }));
    expect(valued(pg.target)).toEqual(valued(pg.source));
    // The values the column had before the rename were kept at the target.
    expect(pg.target.find((row) => Number(row.id) === 4)).toMatchObject({ remark: 'n4' });
    expect(pg.target.find((row) => Number(row.id) === 3)).toMatchObject({ remark: 'after' });
    expect(await columnsAt('my')).toEqual(['id', 'acct_status', 'remark', 'legacy', 'amount']);
  }, 120_000);
  /** The default of a target column as its catalog says (null: none), in that database's own words. */
  async function defaultAt(target: 'pg' | 'my' | 'lite', column: string): Promise<string | null> {
    if (target === 'pg') {
      const { rows } = await pipeline.postgres.knex.raw<{ rows: Array<{ d: string | null }> }>(
        "SELECT column_default AS d FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'accounts' AND column_name = ?",
        [column],
      );
      return rows[0]?.d ?? null;
    }
    if (target === 'my') {
      const [rows] = (await mysql.knex.raw("SELECT COLUMN_DEFAULT AS d FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'accounts' AND COLUMN_NAME = ?", [column])) as [Array<{ d: string | null }>];
      return rows[0]?.d === 'NULL' ? null : (rows[0]?.d ?? null);
    }
    const knex = createKnex({ client: 'better-sqlite3', connection: { filename: join(dir, 'plan.db') }, useNullAsDefault: true });
    try {
      const rows = (await knex.raw("SELECT dflt_value AS d FROM pragma_table_info('accounts') WHERE name = ?", [column])) as Array<{ d: string | null }>;
      return rows[0]?.d ?? null;
    } finally {
      await knex.destroy();
    }
  }

  /**
   * A default reaches a target table with the first change of the table its worker applies after reading
   * the configuration the change was recorded in (at once when the admin announces it, else within
   * CONFIG_REFRESH_MS): the source is written until every target's column says `expected`.
   */
  async function untilDefault(column: Record<'pg' | 'my' | 'lite', string>, expected: (text: string | null) => boolean): Promise<void> {
    await waitFor(
      async () => {
        await pipeline.source.knex.raw('UPDATE accounts SET amount = amount + 1 WHERE id = 3');
        await catchUp();
        for (const target of ['pg', 'my', 'lite'] as const) if (!expected(await defaultAt(target, column[target]))) return false;
        return true;
      },
      { timeoutMs: 30_000, what: 'the defaults at every target' },
    );
  }

  /** Inserts a row at each target leaving the defaulted columns out, reads what they got, and takes the row away again. */
  async function leftOutAt(target: 'pg' | 'my' | 'lite'): Promise<Row> {
    if (target === 'pg') {
      await pipeline.postgres.knex.raw('INSERT INTO accounts (id, amount) VALUES (900, 1)');
      const { rows } = await pipeline.postgres.knex.raw<{ rows: Row[] }>('SELECT state, remark FROM accounts WHERE id = 900');
      await pipeline.postgres.knex.raw('DELETE FROM accounts WHERE id = 900');
      return rows[0];
    }
    if (target === 'my') {
      await mysql.knex.raw('INSERT INTO accounts (id, amount) VALUES (900, 1)');
      const [rows] = (await mysql.knex.raw('SELECT acct_status AS state, remark FROM accounts WHERE id = 900')) as [Row[]];
      await mysql.knex.raw('DELETE FROM accounts WHERE id = 900');
      return rows[0];
    }
    const knex = createKnex({ client: 'better-sqlite3', connection: { filename: join(dir, 'plan.db') }, useNullAsDefault: true });
    try {
      await knex.raw('INSERT INTO accounts (id, amount) VALUES (900, 1)');
      const rows = (await knex.raw('SELECT state, remark FROM accounts WHERE id = 900')) as Row[];
      await knex.raw('DELETE FROM accounts WHERE id = 900');
      return rows[0];
    } finally {
      await knex.destroy();
    }
  }

  it('carries new and dropped defaults, so a target promoted to take writes fills left-out columns as the source does', async () => {
    const { source, setup } = pipeline;
    const SET = "ALTER COLUMN state SET DEFAULT 'pending', ALTER COLUMN remark SET DEFAULT 'n/a'";
    const planned = await setup.schemaChanges.alter('src', 'accounts', SET, { dryRun: true });
    expect(planned.plan.changes.map((change) => [change.kind, change.column, change.exact])).toEqual([
      ['default', 'state', true],
      ['default', 'remark', true],
    ]);
    expect(planned.plan.routes.find((route) => route.route === 'acc-my')!.actions).toEqual(["set the default of column acct_status to 'pending'", "set the default of column remark to 'n/a'"]);
    expect(planned.plan.routes.every((route) => route.resync === 'none')).toBe(true);

    await setup.schemaChanges.alter('src', 'accounts', SET, { requestedBy: 'test' });
    await untilDefault({ pg: 'remark', my: 'remark', lite: 'remark' }, (text) => text !== null && text.includes('n/a'));
    await noDeadLetters();
    for (const target of ['pg', 'my', 'lite'] as const) expect({ target, row: await leftOutAt(target) }).toEqual({ target, row: { state: 'pending', remark: 'n/a' } });

    await setup.schemaChanges.alter('src', 'accounts', 'ALTER COLUMN remark DROP DEFAULT', { requestedBy: 'test' });
    await untilDefault({ pg: 'remark', my: 'remark', lite: 'remark' }, (text) => text === null);
    for (const target of ['pg', 'my', 'lite'] as const) expect({ target, row: await leftOutAt(target) }).toEqual({ target, row: { state: 'pending', remark: null } });
    const pg = await compared('pg');
    const valued = (rows: Row[]) => rows.map((row) => ({ ...row, amount: Number(row.amount) }));
    expect(valued(pg.target)).toEqual(valued(pg.source));
  }, 120_000);
});

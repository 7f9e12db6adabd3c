import { inspect } from 'node:util';
import { ColumnDefault, ColumnSpec, LogicalType, Row, RowChange, TableStep, TargetTableSpec } from '@tributary/model';
import { TargetConfigError, TransactionRefusedError, TransientTargetError } from '../errors';
import { compareByKey } from '../row-order';
import { ApplyBatch, ApplyHooks, RejectedChange, Target } from '../target';

/**
 * The behaviour every target must have (DESIGN.md invariants 3 and 4), as one
 * jest suite. A target's integration spec calls describeTargetContract with a
 * setup that gives a fresh, empty target; every test here uses its own table
 * and route, so they do not interfere.
 */
export interface ContractSubject {
  target: Target;
  teardown(): Promise<void>;
  /** The same kind of target pointed at a closed port, with `password` in its URL. */
  unreachable?(password: string): Target;
  /**
   * Inserts a row into the target table as an application would, through a
   * connection of its own, leaving out the columns the row lacks: the
   * table's defaults fill them. Absent: the target has no defaults (Redis,
   * a webhook).
   */
  insertDirectly?(table: string, row: Record<string, string | number>): Promise<void>;
  /**
   * What the target holds, read the way its consumers would (a message
   * broker's stream folded into rows), for a target that does not read its
   * rows itself (ContractOptions.readable false). Absent: target.readRows.
   */
  readRows?(table: TargetTableSpec): Promise<Row[]>;
}

export interface ContractOptions {
  /** Whether the target refuses rows itself (NOT NULL, length); targets without a schema say false. */
  refusesRows?: boolean;
  /**
   * Whether a failing hooks.recordRejected undoes the rows of the batch (a
   * target with transactions); false for a webhook, which has delivered the
   * accepted changes already (the batch is retried, and the receiver skips them).
   */
  rollsBackOnHookFailure?: boolean;
  /** Whether the target runs conflict detection (hooks.resolveConflicts); false: it must refuse it with TargetConfigError. */
  /** The factory's TargetFactory.detectsConflicts (default true). */
  detectsConflicts?: boolean;
  /** Whether the target plans batches ahead (Target.prepare): the SQL targets do. */
  prepares?: boolean;
  /** The factory's TargetFactory.versionsPerSource (default true): false, it must refuse such batches with TargetConfigError. */
  versionsPerSource?: boolean;
  /**
   * Whether rows already stored follow a step's renames and drops, as a SQL
   * table's do (default true); false where they keep the field names they
   * were written with (Redis, a webhook receiver) until a re-sync.
   */
  rowsFollowSteps?: boolean;
  /** Whether the target reads its rows back (readRows, readRowsByKeys, scanRows: verify); default true. */
  readable?: boolean;
  /**
   * Whether the target keeps each row's version, so a replay or an older
   * change counts as skipped or superseded (default true). False for a log
   * (a RabbitMQ stream): it publishes the change again and its consumers
   * drop it by seq; the cases that count skips are left to its own spec.
   */
  keepsVersions?: boolean;
}

export function describeTargetContract(
  name: string,
  setup: () => Promise<ContractSubject>,
  options: ContractOptions = {},
): void {
  describe(`${name}: target contract`, () => {
    let subject: ContractSubject;
    let target: Target;
    let tables = 0;

    beforeAll(async () => {
      subject = await setup();
      target = subject.target;
    });
    /** A case whose counts only a target that keeps row versions gives (ContractOptions.keepsVersions). */
    const versionedIt: jest.It = options.keepsVersions === false ? it.skip : it;
    /** The target's rows as the tests compare them (ContractSubject.readRows). */
    const readRows = (table: TargetTableSpec): Promise<Row[]> => (subject.readRows ? subject.readRows(table) : target.readRows(table));
    afterAll(async () => {
      await subject?.teardown();
    });

    /** A fresh table (and route id) per test. */
    async function freshTable(columns: ColumnSpec[] = simpleColumns(), key = ['id'], steps?: TableStep[]): Promise<{ table: TargetTableSpec; route: string }> {
      tables += 1;
      const table: TargetTableSpec = { name: `contract_${tables}`, columns, key, ...(steps ? { steps } : {}) };
      await target.ensureTable(table);
      return { table, route: `route-${tables}` };
    }

    it('creates tables idempotently, also when called twice at once', async () => {
      const table: TargetTableSpec = { name: 'contract_ddl', columns: simpleColumns(), key: ['id'] };
      await Promise.all([target.ensureTable(table), target.ensureTable(table)]);
      await target.ensureTable(table);
      expect(await readRows(table)).toEqual([]);
    });

    describe('when the source table changes shape (ensureTable with a newer spec)', () => {
      it('adds the columns the spec gained, NULL in rows already there, and still applies the old shape', async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, [insert(1, simple(1, 'a', 1))]));
        // NOT NULL at the source, but rows already at the target have no value: added NULL-able.
        const note = columnSpec('note', 'string', 'varchar(20)', { nullable: false });
        const grown: TargetTableSpec = {
          ...table,
          columns: [...table.columns, note, columnSpec('amount', 'decimal', 'decimal(12,2)'), columnSpec('js', 'json', 'json')],
        };
        await target.ensureTable(grown);
        const row2 = { ...simple(2, 'b', 2), note: 'hello', amount: '12.50', js: '{"a": [1, 2]}' };
        expect(await apply(batch(grown, route, [insert(2, row2), update(3, simple(1, 'a', 1), { ...simple(1, 'a2', 1), note: 'later', amount: null, js: null })]))).toEqual({
          applied: 2,
          skipped: 0,
          rejected: [],
        });
        // A change still carrying the old shape (written before the ALTER) leaves the new columns alone.
        expect((await apply(batch(table, route, [update(4, simple(2, 'b', 2), simple(2, 'b2', 4))]))).applied).toBe(1);
        const rows = await readRows(grown);
        expect(rows.map((row) => ({ ...row, js: row.js === null ? null : JSON.parse(String(row.js)) }))).toEqual([
          { ...simple(1, 'a2', 1), note: 'later', amount: null, js: null },
          { ...simple(2, 'b2', 4), note: 'hello', amount: '12.50', js: { a: [1, 2] } },
        ]);
        await target.ensureTable(grown); // nothing left to do
        await target.ensureTable(table); // an older spec again (a replayed job): nothing to undo
        expect(await readRows(grown)).toEqual(rows);
      });

      it('takes values of a type the source widened (a longer VARCHAR, INT to BIGINT, more DECIMAL digits), keeping the rows it has', async () => {
        const narrow = [
          columnSpec('id', 'int', 'int(11)', { nullable: false }),
          columnSpec('name', 'string', 'varchar(5)', { nullable: false, length: 5 }),
          columnSpec('n', 'int', 'int(11)'),
          columnSpec('amount', 'decimal', 'decimal(5,2)', { precision: 5, scale: 2 }),
        ];
        const { table, route } = await freshTable(narrow);
        await apply(batch(table, route, [insert(1, { id: 1, name: 'short', n: 7, amount: '999.99' })]));
        const wide: TargetTableSpec = {
          ...table,
          columns: [
            narrow[0],
            columnSpec('name', 'string', 'varchar(40)', { nullable: false, length: 40 }),
            columnSpec('n', 'bigint', 'bigint(20)'),
            columnSpec('amount', 'decimal', 'decimal(9,3)', { precision: 9, scale: 3 }),
          ],
        };
        await target.ensureTable(wide);
        const big = { id: 2, name: 'a name longer than five', n: '9007199254740993', amount: '123456.789' };
        expect(await apply(batch(wide, route, [insert(2, big)]))).toEqual({ applied: 1, skipped: 0, rejected: [] });
        // The row written before keeps its values (a target with types shows them in the wider type: 999.990).
        const rows = await readRows(wide);
        expect(rows.map((row) => [row.id, row.name])).toEqual([
          [1, 'short'],
          [2, big.name],
        ]);
        expect(rows[1]).toEqual(big);
        expect(Number(rows[0].amount)).toBe(999.99);
        // Narrowed again at the source: nothing is narrowed at the target.
        await target.ensureTable(table);
        expect(await readRows(wide)).toEqual(rows);
      });

      it('makes NOT NULL columns the spec dropped NULL-able, keeping their data and their type', async () => {
        const columns = [
          ...simpleColumns().map((c) => (c.name === 'name' ? { ...c, nullable: false } : c)),
          columnSpec('js', 'json', 'json', { nullable: false }),
        ];
        const { table, route } = await freshTable(columns);
        await apply(batch(table, route, [insert(1, { ...simple(1, 'kept', 1), js: '[1]' })]));
        const shrunk: TargetTableSpec = { ...table, columns: columns.filter((c) => c.name === 'id' || c.name === 'n') };
        const before = await apply(batch(shrunk, route, [insert(2, { id: 2, n: 2 })])).catch((error: unknown) => error);
        expect(before).not.toEqual({ applied: 1, skipped: 0, rejected: [] }); // refused (or failed) before the evolution
        await target.ensureTable(shrunk);
        expect(await apply(batch(shrunk, route, [insert(3, { id: 3, n: 3 }), update(4, { id: 1, n: 1 }, { id: 1, n: 4 })]))).toEqual({
          applied: 2,
          skipped: 0,
          rejected: [],
        });
        const all: TargetTableSpec = { ...table, columns: columns.map((c) => ({ ...c, nullable: c.name !== 'id' })) };
        const rows = await readRows(all);
        expect(rows).toEqual([
          { id: 1, name: 'kept', n: 4, js: '[1]' },
          { id: 3, name: null, n: 3, js: null },
        ]);
        if (options.refusesRows !== false) {
          // Still a JSON column (MariaDB keeps JSON as LONGTEXT plus a check, which must survive).
          const refused: RejectedChange[] = [];
          const result = await target.apply(batch(table, route, [insert(5, { ...simple(5, 'x', 5), js: 'not json' })]), {
            recordRejected: async (rejected) => void refused.push(...rejected),
          });
          expect(result.rejected).toHaveLength(1);
          expect(refused).toHaveLength(1);
        }
      });

      it("refuses a spec whose key is not the table's primary key, changing nothing", async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, [insert(1, simple(1, 'a', 1))]));
        const rekeyed: TargetTableSpec = { ...table, columns: [...table.columns, columnSpec('extra', 'int', 'int(11)')], key: ['name'] };
        const error = await target.ensureTable(rekeyed).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TargetConfigError);
        expect(String((error as Error).message)).toMatch(/primary key \(id\), but the route's key is \(name\); a key change needs a re-sync/);
        expect(await readRows(table)).toEqual([simple(1, 'a', 1)]);
        await expect(readRows({ ...rekeyed, key: ['id'] })).rejects.toThrow(); // no column was added
      });

      it('checkTable reports what ensureTable would refuse, and changes nothing', async () => {
        const spec: TargetTableSpec = { name: 'contract_check', columns: simpleColumns(), key: ['id'] };
        expect(await target.checkTable(spec)).toEqual([]); // no table yet: it would be created
        await target.ensureTable(spec);
        expect(await target.checkTable(spec)).toEqual([]);
        // A grown spec fits too: ensureTable would add the column.
        expect(await target.checkTable({ ...spec, columns: [...spec.columns, columnSpec('extra', 'int', 'int(11)')] })).toEqual([]);
        const rekeyed: TargetTableSpec = { ...spec, key: ['name'] };
        const problems = await target.checkTable(rekeyed);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(/primary key \(id\), but the route's key is \(name\)/);
        await expect(target.ensureTable(rekeyed)).rejects.toBeInstanceOf(TargetConfigError); // the same verdict
        await expect(target.checkTable({ ...spec, name: 'bad name' })).rejects.toBeInstanceOf(TargetConfigError);
      });

      it('evolves a table once when several calls race', async () => {
        const { table, route } = await freshTable(simpleColumns().map((c) => (c.name === 'n' ? { ...c, nullable: false } : c)));
        const evolved: TargetTableSpec = {
          ...table,
          columns: [...table.columns.filter((c) => c.name !== 'n'), columnSpec('x', 'int', 'int(11)'), columnSpec('y', 'string', 'varchar(5)')],
        };
        await Promise.all([target.ensureTable(evolved), target.ensureTable(evolved), target.ensureTable(evolved), target.ensureTable(table)]);
        await apply(batch(evolved, route, [insert(1, { id: 1, name: 'a', x: 7, y: 'yy' })]));
        const everything: TargetTableSpec = { ...evolved, columns: [...evolved.columns, { ...table.columns[2], nullable: true }] };
        expect(await readRows(everything)).toEqual([{ id: 1, name: 'a', x: 7, y: 'yy', n: null }]);
      });
    });

    describe('when the source renames or drops columns (ensureTable with steps)', () => {
      const rowsFollow = options.rowsFollowSteps !== false;
      const renamed = (columns: ColumnSpec[], from: string, to: string) => columns.map((c) => (c.name === from ? { ...c, name: to } : c));
      const pairColumns = () => [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('a', 'string', 'varchar(20)'), columnSpec('b', 'string', 'varchar(20)')];
      // a steps aside to t, b takes its name, then a takes b's: the columns swap, the names stay.
      const swap = (id: number): TableStep => step(id, [], [['a', 't'], ['b', 'a'], ['t', 'b']]);

      it('renames a column: its data stays under the new name, and new rows write it', async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, [insert(1, simple(1, 'a', 1)), insert(2, simple(2, 'b', 2))]));
        const later: TargetTableSpec = { ...table, columns: renamed(table.columns, 'name', 'label'), steps: [step(1, [], [['name', 'label']])] };
        await target.ensureTable(later);
        await target.ensureTable(later); // had: nothing left to do
        const labelled = (id: number, label: string, n: number) => ({ id, label, n });
        expect(await apply(batch(later, route, [insert(3, labelled(3, 'c', 3)), update(4, labelled(1, 'a', 1), labelled(1, 'a2', 4))]))).toEqual({ applied: 2, skipped: 0, rejected: [] });
        const rows = await readRows(later);
        expect(rows.filter((row) => row.id !== 2)).toEqual([labelled(1, 'a2', 4), labelled(3, 'c', 3)]);
        if (rowsFollow) expect(rows.find((row) => row.id === 2)).toEqual(labelled(2, 'b', 2));
        await expect(readRows(table)).rejects.toThrow(); // no column `name` any more
        expect(await target.checkTable(later)).toEqual([]);
      });

      it('drops a column: it is gone, rows still apply, and a column later added with its name is a new one', async () => {
        const columns = [...simpleColumns(), columnSpec('gone', 'string', 'varchar(20)', { nullable: false })];
        const { table, route } = await freshTable(columns);
        await apply(batch(table, route, [insert(1, { ...simple(1, 'a', 1), gone: 'x' })]));
        const dropped: TargetTableSpec = { ...table, columns: simpleColumns(), steps: [step(1, ['gone'])] };
        await Promise.all([target.ensureTable(dropped), target.ensureTable(dropped)]);
        await expect(readRows(table)).rejects.toThrow(); // dropped, not only made NULL-able
        expect(await apply(batch(dropped, route, [insert(2, simple(2, 'b', 2)), update(3, simple(1, 'a', 1), simple(1, 'a', 3))]))).toEqual({ applied: 2, skipped: 0, rejected: [] });
        expect(await readRows(dropped)).toEqual([simple(1, 'a', 3), simple(2, 'b', 2)]);
        const readded: TargetTableSpec = { ...dropped, columns: [...simpleColumns(), columnSpec('gone', 'int', 'int(11)')] };
        await target.ensureTable(readded);
        expect(await apply(batch(readded, route, [insert(4, { ...simple(4, 'd', 4), gone: 7 })]))).toMatchObject({ applied: 1 });
        if (rowsFollow) expect(await readRows(readded)).toEqual([{ ...simple(1, 'a', 3), gone: null }, { ...simple(2, 'b', 2), gone: null }, { ...simple(4, 'd', 4), gone: 7 }]);
      });

      it('carries a step out once, however often and however concurrently ensureTable brings it', async () => {
        const { table, route } = await freshTable(pairColumns());
        await apply(batch(table, route, [insert(1, { id: 1, a: 'A', b: 'B' })]));
        const swapped: TargetTableSpec = { ...table, steps: [swap(1)] };
        await Promise.all([target.ensureTable(swapped), target.ensureTable(swapped), target.ensureTable(swapped)]);
        await target.ensureTable(swapped);
        if (rowsFollow) expect(await readRows(swapped)).toEqual([{ id: 1, a: 'B', b: 'A' }]);
        expect(await apply(batch(swapped, route, [insert(2, { id: 2, a: 'a2', b: 'b2' })]))).toMatchObject({ applied: 1 });
        expect((await readRows(swapped)).find((row) => row.id === 2)).toEqual({ id: 2, a: 'a2', b: 'b2' });
      });

      it('renames a key column, which stays the key, and swaps it with another column once', async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, [insert(1, simple(1, 'a', 10))]));
        const rekeyed: TargetTableSpec = { ...table, columns: renamed(table.columns, 'id', 'ident'), key: ['ident'], steps: [step(1, [], [['id', 'ident']])] };
        await target.ensureTable(rekeyed);
        const insertKeyed = (seq: number, row: Row, key: string): RowChange => ({ seq, op: 'insert', key: { [key]: row[key] }, before: null, after: row });
        expect(await apply(batch(rekeyed, route, [insertKeyed(2, { ident: 2, name: 'b', n: 20 }, 'ident')]))).toMatchObject({ applied: 1 });
        if (rowsFollow) expect(await readRows(rekeyed)).toEqual([{ ident: 1, name: 'a', n: 10 }, { ident: 2, name: 'b', n: 20 }]);
        // The key column and n swap names: the key is now called n. Carried out twice, the key would be ident again.
        const swapped: TargetTableSpec = {
          ...rekeyed,
          columns: [{ ...table.columns[0], name: 'n' }, table.columns[1], { ...table.columns[2], name: 'ident' }],
          key: ['n'],
          steps: [...rekeyed.steps!, step(2, [], [['ident', 't'], ['n', 'ident'], ['t', 'n']])],
        };
        await Promise.all([target.ensureTable(swapped), target.ensureTable(swapped)]);
        await target.ensureTable(swapped);
        expect(await target.checkTable(swapped)).toEqual([]);
        expect(await apply(batch(swapped, route, [insertKeyed(3, { n: 3, name: 'c', ident: 30 }, 'n')]))).toMatchObject({ applied: 1 });
        if (rowsFollow) {
          expect(await readRows(swapped)).toEqual([
            { n: 1, name: 'a', ident: 10 },
            { n: 2, name: 'b', ident: 20 },
            { n: 3, name: 'c', ident: 30 },
          ]);
        }
      });

      it('does not carry out the steps of the spec a table is created from: it has had them', async () => {
        // Carried out after the CREATE, the swap would make id and n trade names, and the key with them.
        const keySwap = step(1, [], [['id', 't'], ['n', 'id'], ['t', 'n']]);
        const { table, route } = await freshTable(simpleColumns(), ['id'], [keySwap]);
        await apply(batch(table, route, [insert(1, simple(1, 'a', 10))]));
        await target.ensureTable(table);
        expect(await target.checkTable(table)).toEqual([]);
        expect(await readRows(table)).toEqual([simple(1, 'a', 10)]);
      });
    });

    describe("column defaults (the source's, carried by SQL targets)", () => {
      const value = (text: string): ColumnDefault => ({ kind: 'value', value: text });
      const now: ColumnDefault = { kind: 'now' };
      // A quote, a backslash and a `?`: each dialect's quoting (and knex's placeholders) must leave them as they are.
      const tricky = "it's a \\ back?slash";
      const stamp = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/;

      it('creates a table whose columns have the defaults the target can carry, and adds columns with theirs', async () => {
        const columns = [
          columnSpec('id', 'int', 'int(11)', { nullable: false }),
          columnSpec('status', 'string', 'varchar(40)', { default: value(tricky) }),
          columnSpec('qty', 'int', 'int(11)', { default: value('7') }),
          columnSpec('price', 'decimal', 'decimal(10,2)', { default: value('12.50') }),
          columnSpec('day', 'date', 'date', { default: value('2020-01-02') }),
          columnSpec('tm', 'time', 'time', { default: value('01:02:03') }),
          columnSpec('kind', 'enum', "enum('a','b')", { members: ['a', 'b'], default: value('b') }),
          columnSpec('js', 'json', 'json', { default: value('{"a":1}') }),
          columnSpec('created', 'datetime', 'datetime', { default: now }),
          columnSpec('stamped', 'timestamp', 'timestamp(3)', { default: now }),
          // Not carried: an expression of MariaDB's, a constant TIMESTAMP, bytes; and a column without a default.
          columnSpec('uid', 'string', 'varchar(36)', { default: { kind: 'expression', sql: 'uuid()' } }),
          columnSpec('fixed', 'timestamp', 'timestamp', { default: value('2020-01-01 00:00:00') }),
          columnSpec('bin', 'binary', 'varbinary(4)', { default: value('ab') }),
          columnSpec('plain', 'string', 'varchar(10)'),
        ];
        const { table, route } = await freshTable(columns);
        expect(await apply(batch(table, route, [insert(1, { ...Object.fromEntries(columns.map((c) => [c.name, null])), id: 1, status: 'given' })]))).toMatchObject({ applied: 1 });
        const grown: TargetTableSpec = {
          ...table,
          columns: [...columns, columnSpec('added', 'string', 'varchar(10)', { default: value('later') }), columnSpec('added_at', 'datetime', 'datetime', { default: now })],
        };
        await target.ensureTable(grown);
        expect(await target.checkTable(grown)).toEqual([]);
        if (!subject.insertDirectly) {
          // No defaults to have: the spec is taken, and rows are written as given.
          expect((await readRows(grown)).map((row) => row.status)).toEqual(['given']);
          return;
        }
        await subject.insertDirectly(table.name, { id: 2 });
        const [applied, direct] = await readRows(grown);
        expect({ ...direct, js: JSON.parse(String(direct.js)), created: null, stamped: null, added_at: null }).toEqual({
          id: 2,
          status: tricky,
          qty: 7,
          price: '12.50',
          day: '2020-01-02',
          tm: '01:02:03',
          kind: 'b',
          js: { a: 1 },
          created: null,
          stamped: null,
          uid: null,
          fixed: null,
          bin: null,
          plain: null,
          added: 'later',
          added_at: null,
        });
        for (const name of ['created', 'stamped', 'added_at']) expect(String(direct[name])).toMatch(stamp);
        // The row already there when the column came takes its constant default, as at the source when it added it.
        expect(applied).toMatchObject({ id: 1, status: 'given', qty: null, added: 'later' });
      });

      it("carries out a step's default changes once, after its drops and renames, leaving the rows as they are", async () => {
        const columns = [
          columnSpec('id', 'int', 'int(11)', { nullable: false }),
          columnSpec('a', 'string', 'varchar(20)', { default: value('old') }),
          columnSpec('b', 'int', 'int(11)', { default: value('5') }),
        ];
        const { table, route } = await freshTable(columns);
        await apply(batch(table, route, [insert(1, { id: 1, a: 'A', b: 1 })]));
        // Only defaults: a's set, b's dropped, one of a column the table does not have skipped.
        const first: TableStep = { ...step(1, []), defaults: [{ column: 'a', default: value(tricky) }, { column: 'b', default: null }, { column: 'nowhere', default: value('x') }] };
        const stepped: TargetTableSpec = { ...table, columns: [{ ...columns[0] }, { ...columns[1], default: value(tricky) }, { ...columns[2], default: undefined }], steps: [first] };
        await Promise.all([target.ensureTable(stepped), target.ensureTable(stepped), target.ensureTable(stepped)]);
        await target.ensureTable(stepped);
        expect(await readRows(stepped)).toEqual([{ id: 1, a: 'A', b: 1 }]);
        expect(await target.checkTable(stepped)).toEqual([]);
        await subject.insertDirectly?.(table.name, { id: 2 });
        // A later step sets a's default again; the first, brought again by an older spec, is not carried out again.
        const second: TableStep = { ...step(2, []), defaults: [{ column: 'a', default: value('newer') }] };
        const later: TargetTableSpec = { ...stepped, columns: [columns[0], { ...columns[1], default: value('newer') }, stepped.columns[2]], steps: [first, second] };
        await Promise.all([target.ensureTable(later), target.ensureTable(later)]);
        await target.ensureTable(stepped);
        await subject.insertDirectly?.(table.name, { id: 3 });
        // A default set in the step that renames its column: set under the new name.
        const third: TableStep = { ...step(3, [], [['b', 'n']]), defaults: [{ column: 'n', default: value('9') }] };
        const renamedB: TargetTableSpec = { ...later, columns: [columns[0], later.columns[1], { ...columns[2], name: 'n', default: value('9') }], steps: [first, second, third] };
        await Promise.all([target.ensureTable(renamedB), target.ensureTable(renamedB)]);
        await subject.insertDirectly?.(table.name, { id: 4 });
        expect(await apply(batch(renamedB, route, [insert(5, { id: 5, a: 'E', n: 5 })]))).toMatchObject({ applied: 1 });
        const rows = await readRows(renamedB);
        if (subject.insertDirectly) {
          expect(rows).toEqual([
            { id: 1, a: 'A', n: 1 },
            { id: 2, a: tricky, n: null },
            { id: 3, a: 'newer', n: null },
            { id: 4, a: 'newer', n: 9 },
            { id: 5, a: 'E', n: 5 },
          ]);
        } else {
          expect(rows.find((row) => row.id === 5)).toEqual({ id: 5, a: 'E', n: 5 });
        }
        expect(await target.checkTable(renamedB)).toEqual([]);
      });
    });

    it('moves the checkpoint of a batch without changes, even before any ensureTable', async () => {
      const fresh = await setup();
      try {
        const table: TargetTableSpec = { name: 'never_created', columns: [], key: [] };
        expect(await fresh.target.readCheckpoint('heartbeat')).toBeNull();
        expect(await fresh.target.apply(batch(table, 'heartbeat', [], 42), noHooks)).toEqual({ applied: 0, skipped: 0, rejected: [] });
        expect((await fresh.target.readCheckpoint('heartbeat'))?.watermark).toBe(42);
      } finally {
        await fresh.teardown();
      }
    });

    it('applies inserts, updates and deletes, and saves the checkpoint with them', async () => {
      const { table, route } = await freshTable();
      const first = await apply(batch(table, route, [insert(1, simple(1, 'a', 10)), insert(2, simple(2, 'b', 20)), insert(3, simple(3, 'c', 30))]));
      expect(first).toEqual({ applied: 3, skipped: 0, rejected: [] });
      const second = await apply(
        batch(table, route, [update(4, simple(2, 'b', 20), simple(2, 'B', 21)), remove(5, simple(3, 'c', 30))], 6),
      );
      expect(second).toEqual({ applied: 2, skipped: 0, rejected: [] });
      expect(await readRows(table)).toEqual([simple(1, 'a', 10), simple(2, 'B', 21)]);
      expect((await target.readCheckpoint(route))?.watermark).toBe(6);
    });

    describe('versions per source (a table several sources write: ApplyBatch.versions)', () => {
      const from = (source: string, b: ApplyBatch, legacySource: string | null = 'a'): ApplyBatch => ({ ...b, versions: { source, legacySource } });

      if (options.versionsPerSource === false) {
        it('refuses them with a TargetConfigError', async () => {
          const { table, route } = await freshTable();
          await expect(apply(from('b', batch(table, route, [insert(1, simple(1, 'b', 1))])))).rejects.toBeInstanceOf(TargetConfigError);
        });
        return;
      }

      it("guards each row by each source's own seqs: replays are skipped, newer changes of any source apply as they arrive", async () => {
        const { table, route } = await freshTable();
        // Seqs of two sources are unrelated: b's are far lower than a's.
        expect(await apply(from('a', batch(table, route, [insert(100, simple(1, 'a', 1))])))).toMatchObject({ applied: 1 });
        expect(await apply(from('b', batch(table, route, [update(5, simple(1, 'a', 1), simple(1, 'b', 2))])))).toMatchObject({ applied: 1, skipped: 0 });
        // a's change again (a replay after a crash): a has applied it already.
        expect(await apply(from('a', batch(table, route, [insert(100, simple(1, 'a', 1))])))).toMatchObject({ applied: 0, skipped: 1 });
        expect(await readRows(table)).toEqual([simple(1, 'b', 2)]);
        expect(await apply(from('a', batch(table, route, [update(101, simple(1, 'b', 2), simple(1, 'a', 3))])))).toMatchObject({ applied: 1 });
        expect(await apply(from('b', batch(table, route, [update(5, simple(1, 'a', 1), simple(1, 'b', 2))])))).toMatchObject({ skipped: 1 });
        expect(await apply(from('b', batch(table, route, [remove(6, simple(1, 'a', 3))])))).toMatchObject({ applied: 1 });
        expect(await readRows(table)).toEqual([]);
        // b's delete is b's: a replayed older change of a stays skipped, a's next change applies.
        expect(await apply(from('a', batch(table, route, [update(101, simple(1, 'b', 2), simple(1, 'a', 3))])))).toMatchObject({ skipped: 1 });
        expect(await readRows(table)).toEqual([]);
        expect(await apply(from('a', batch(table, route, [insert(102, simple(1, 'a', 4))])))).toMatchObject({ applied: 1 });
        expect(await readRows(table)).toEqual([simple(1, 'a', 4)]);
      });

      it('carries over the versions a source wrote while it was the only one, before another source overwrites them', async () => {
        const { table, route } = await freshTable();
        // a alone, the table's one version per row.
        await apply(batch(table, route, [insert(100, simple(1, 'a', 1)), insert(50, simple(2, 'a', 2))]));
        // b arrives: its change of row 1 overwrites a's row (and, in the table's own version, a's seq).
        expect(await apply(from('b', batch(table, route, [update(3, simple(1, 'a', 1), simple(1, 'b', 9))])))).toMatchObject({ applied: 1 });
        // a's replays of both rows are known as a's: skipped, whichever row b touched.
        expect(await apply(from('a', batch(table, route, [insert(100, simple(1, 'a', 1)), insert(50, simple(2, 'a', 2))])))).toMatchObject({ applied: 0, skipped: 2 });
        expect(await readRows(table)).toEqual([simple(1, 'b', 9), simple(2, 'a', 2)]);
        expect(await apply(from('a', batch(table, route, [update(51, simple(2, 'a', 2), simple(2, 'a', 5))])))).toMatchObject({ applied: 1 });
        expect(await readRows(table)).toEqual([simple(1, 'b', 9), simple(2, 'a', 5)]);
      });

      it("never takes another source's version for the first source's own: a row b wrote first is new to a", async () => {
        const { table, route } = await freshTable();
        expect(await apply(from('b', batch(table, route, [insert(500, simple(1, 'b', 1))])))).toMatchObject({ applied: 1 });
        // a (the table's first source) writes the row for the first time, with a seq far below b's.
        expect(await apply(from('a', batch(table, route, [update(3, simple(1, 'b', 1), simple(1, 'a', 2))])))).toMatchObject({ applied: 1, skipped: 0 });
        expect(await readRows(table)).toEqual([simple(1, 'a', 2)]);
      });
    });

    describe('conflict detection (hooks.resolveConflicts)', () => {
      if (options.detectsConflicts === false) {
        it('refuses it with a TargetConfigError', async () => {
          const { table, route } = await freshTable();
          const hooks: ApplyHooks = { ...noHooks, resolveConflicts: async (changes) => changes };
          await expect(target.apply(batch(table, route, [insert(1, simple(1, 'a', 1))]), hooks)).rejects.toBeInstanceOf(TargetConfigError);
        });
        return;
      }

      it("shows the hook the target's current rows of every key of the fresh changes, and applies what it returns", async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, [insert(1, simple(1, 'a', 1)), insert(2, simple(2, 'b', 2)), insert(3, simple(3, 'c', 3))]));
        const seen: Array<[number, Row | null, Row | null]> = [];
        const hooks: ApplyHooks = {
          ...noHooks,
          async resolveConflicts(changes, current) {
            for (const change of changes) seen.push([change.seq, current.get({ id: change.before?.id ?? change.key.id }), current.get(change.key)]);
            // Keep the target's row 2 (drop its change), rewrite the change of row 1, let the move of row 3 through.
            return changes
              .filter((change) => change.key.id !== 2)
              .map((change) => (change.key.id === 1 ? { ...change, after: simple(1, 'merged', 100) } : change));
          },
        };
        const result = await target.apply(
          batch(table, route, [
            update(10, simple(1, 'a', 1), simple(1, 'A', 11)),
            update(11, simple(2, 'b', 2), simple(2, 'B', 22)),
            update(12, simple(3, 'c', 3), simple(7, 'c', 3)),
            insert(13, simple(8, 'new', 8)),
          ]),
          hooks,
        );
        expect(seen).toEqual([
          [10, simple(1, 'a', 1), simple(1, 'a', 1)],
          [11, simple(2, 'b', 2), simple(2, 'b', 2)],
          [12, simple(3, 'c', 3), null],
          [13, null, null],
        ]);
        expect(result.rejected).toEqual([]);
        expect(await readRows(table)).toEqual([simple(1, 'merged', 100), simple(2, 'b', 2), simple(7, 'c', 3), simple(8, 'new', 8)]);
      });

      it('never asks about replays, which the seq guard skips', async () => {
        const { table, route } = await freshTable();
        const old = batch(table, route, [insert(1, simple(1, 'a', 1))]);
        await apply(old);
        await apply(batch(table, route, [update(5, simple(1, 'a', 1), simple(1, 'b', 5))]));
        const asked: number[] = [];
        const hooks: ApplyHooks = { ...noHooks, resolveConflicts: async (changes) => (asked.push(...changes.map((c) => c.seq)), changes) };
        expect(await target.apply({ ...old, changes: [...old.changes, insert(6, simple(2, 'x', 6))] }, hooks)).toMatchObject({ applied: 1, skipped: 1 });
        expect(asked).toEqual([6]);
        expect(await readRows(table)).toEqual([simple(1, 'b', 5), simple(2, 'x', 6)]);
      });

      it('writes nothing and keeps the checkpoint when the hook throws', async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, [insert(1, simple(1, 'a', 1))], 1));
        const failing: ApplyHooks = { ...noHooks, resolveConflicts: async () => Promise.reject(new Error('resolver exploded')) };
        await expect(target.apply(batch(table, route, [update(2, simple(1, 'a', 1), simple(1, 'b', 2))], 2), failing)).rejects.toThrow('resolver exploded');
        expect(await readRows(table)).toEqual([simple(1, 'a', 1)]);
        expect((await target.readCheckpoint(route))?.watermark).toBe(1);
      });
    });

    describe('transactions across tables (Target.transaction: a transactional target)', () => {
      // The SQL targets (those that plan ahead) have them; the others must not claim to.
      if (!options.prepares) {
        it('has none', () => expect(target.transaction).toBeUndefined());
        return;
      }

      it('commits the batches of several tables and their checkpoints together, and shows nothing before', async () => {
        const a = await freshTable();
        const b = await freshTable();
        expect(await readRows(b.table)).toEqual([]);
        const outcome = await target.transaction!([a.table.name, b.table.name], async (tx) => {
          expect(await tx.apply(batch(a.table, a.route, [insert(1, simple(1, 'a', 1))], 0))).toEqual({ applied: 1, skipped: 0, rejected: [] });
          expect(await tx.apply(batch(b.table, b.route, [insert(2, simple(2, 'b', 2)), insert(3, simple(3, 'c', 3))], 0))).toEqual({ applied: 2, skipped: 0, rejected: [] });
          // A prepared batch, then the checkpoints alone, as a worker ends a job.
          await tx.apply(batch(a.table, a.route, [update(4, simple(1, 'a', 1), simple(1, 'A', 4))], 0), target.prepare!(batch(a.table, a.route, [], 0)));
          await tx.apply(batch(a.table, a.route, [], 5));
          await tx.apply(batch(b.table, b.route, [], 5));
          // Another connection sees none of it yet.
          expect(await readRows(b.table)).toEqual([]);
          return 'done';
        });
        expect(outcome).toBe('done');
        expect(await readRows(a.table)).toEqual([simple(1, 'A', 4)]);
        expect(await readRows(b.table)).toEqual([simple(2, 'b', 2), simple(3, 'c', 3)]);
        expect([(await target.readCheckpoint(a.route))?.watermark, (await target.readCheckpoint(b.route))?.watermark]).toEqual([5, 5]);
        // Replayed: the seq guard skips every row.
        await target.transaction!([a.table.name], async (tx) => expect(await tx.apply(batch(a.table, a.route, [insert(1, simple(1, 'a', 1))], 0))).toEqual({ applied: 0, skipped: 1, rejected: [] }));
      });

      it('rolls everything back when a row is refused, naming it, and gives back what the work throws unchanged', async () => {
        const a = await freshTable();
        const b = await freshTable();
        const broken = { id: 7, name: 'b' } as Row;
        const refused = target.transaction!([a.table.name, b.table.name], async (tx) => {
          await tx.apply(batch(a.table, a.route, [insert(1, simple(1, 'a', 1))], 1));
          await tx.apply(batch(b.table, b.route, [insert(6, simple(6, 'f', 6)), insert(7, broken)], 7));
        });
        await expect(refused).rejects.toBeInstanceOf(TransactionRefusedError);
        await expect(refused).rejects.toThrow(new RegExp(`table ${b.table.name} refused the change at seq 7: .*no value for column n`));
        expect(await readRows(a.table)).toEqual([]);
        expect(await readRows(b.table)).toEqual([]);
        expect(await target.readCheckpoint(a.route)).toBeNull();
        class Mine extends Error {}
        await expect(target.transaction!([a.table.name], async () => Promise.reject(new Mine('the caller\'s own')))).rejects.toBeInstanceOf(Mine);
        // The connection is usable again (the locks and the transaction were let go).
        await target.transaction!([a.table.name], async (tx) => void (await tx.apply(batch(a.table, a.route, [insert(1, simple(1, 'a', 1))], 1))));
        expect(await readRows(a.table)).toEqual([simple(1, 'a', 1)]);
      });
    });

    describe('planned ahead (Target.prepare)', () => {
      if (!options.prepares) {
        it('has no prepare: apply plans each batch itself', () => expect(target.prepare).toBeUndefined());
        return;
      }

      it('applies a prepared batch exactly as apply alone would, the checkpoint with it', async () => {
        const { table, route } = await freshTable();
        const first = batch(table, route, [insert(1, simple(1, 'a', 1)), insert(2, simple(2, 'b', 2))], 2);
        // Prepared first, applied later: what a worker does while the previous batch commits.
        const second = batch(table, route, [update(3, simple(1, 'a', 1), simple(1, 'A', 3)), remove(4, simple(2, 'b', 2)), insert(5, simple(5, 'e', 5))], 5);
        const ahead = target.prepare!(second);
        expect(await target.apply(first, noHooks, target.prepare!(first))).toEqual({ applied: 2, skipped: 0, rejected: [] });
        expect(await target.apply(second, noHooks, ahead)).toEqual({ applied: 3, skipped: 0, rejected: [] });
        expect(await readRows(table)).toEqual([simple(1, 'A', 3), simple(5, 'e', 5)]);
        expect((await target.readCheckpoint(route))?.watermark).toBe(5);
        // Replayed with its plan: the seq guard still decides at apply time.
        expect(await target.apply(second, noHooks, target.prepare!(second))).toEqual({ applied: 0, skipped: 3, rejected: [] });
      });

      it('plans a batch with a row the statement cannot carry, and refuses that row alone at apply', async () => {
        const { table, route } = await freshTable();
        // An image without one of the table's columns: no statement can carry it.
        const broken = { id: 2, name: 'b' } as Row;
        const withBroken = batch(table, route, [insert(1, simple(1, 'a', 1)), insert(2, broken), insert(3, simple(3, 'c', 3))], 3);
        const ahead = target.prepare!(withBroken);
        const refused: RejectedChange[] = [];
        const result = await target.apply(withBroken, { recordRejected: async (rejected) => void refused.push(...rejected) }, ahead);
        expect(result).toMatchObject({ applied: 2, skipped: 0 });
        expect(refused.map((r) => ({ seq: r.change.seq, reason: r.reason }))).toEqual([{ seq: 2, reason: expect.stringContaining('no value for column n') }]);
        expect(await readRows(table)).toEqual([simple(1, 'a', 1), simple(3, 'c', 3)]);
        expect((await target.readCheckpoint(route))?.watermark).toBe(3);
      });

      it("ignores a plan made for another batch and applies the batch it is given", async () => {
        const { table, route } = await freshTable();
        const other = target.prepare!(batch(table, route, [insert(1, simple(1, 'wrong', 1))], 1));
        expect(await target.apply(batch(table, route, [insert(2, simple(2, 'right', 2))], 2), noHooks, other)).toEqual({ applied: 1, skipped: 0, rejected: [] });
        expect(await readRows(table)).toEqual([simple(2, 'right', 2)]);
      });
    });

    it('moves a row whose key changed', async () => {
      const { table, route } = await freshTable();
      await apply(batch(table, route, [insert(1, simple(1, 'a', 1)), insert(2, simple(2, 'b', 2))]));
      const result = await apply(batch(table, route, [update(3, simple(1, 'a', 1), simple(9, 'a', 1))]));
      expect(result.applied).toBe(2); // the old key's delete and the new key's upsert
      expect(await readRows(table)).toEqual([simple(2, 'b', 2), simple(9, 'a', 1)]);
    });

    versionedIt('changes nothing, rows nor checkpoint, when an old batch is replayed', async () => {
      const { table, route } = await freshTable();
      const old = batch(table, route, [insert(1, simple(1, 'a', 1)), insert(2, simple(2, 'b', 2))]);
      await apply(old);
      await apply(batch(table, route, [update(3, simple(1, 'a', 1), simple(1, 'new', 3)), remove(4, simple(2, 'b', 2))]));
      const rows = await readRows(table);
      const checkpoint = await target.readCheckpoint(route);
      expect(await apply(old)).toEqual({ applied: 0, skipped: 2, rejected: [] });
      expect(await readRows(table)).toEqual(rows);
      expect(rows).toEqual([simple(1, 'new', 3)]);
      expect(await target.readCheckpoint(route)).toEqual(checkpoint);
      expect(checkpoint?.watermark).toBe(4);
    });

    versionedIt('applies a batch delivered twice only once', async () => {
      const { table, route } = await freshTable();
      const twice = batch(table, route, [insert(1, simple(1, 'a', 1)), update(2, simple(1, 'a', 1), simple(1, 'a', 2))]);
      expect(await apply(twice)).toEqual({ applied: 1, skipped: 0, rejected: [] });
      expect(await apply(twice)).toEqual({ applied: 0, skipped: 1, rejected: [] });
      expect(await readRows(table)).toEqual([simple(1, 'a', 2)]);
    });

    versionedIt('keeps a row at seq 7 when seq 5 is retried after it', async () => {
      const { table, route } = await freshTable();
      await apply(batch(table, route, [insert(1, simple(1, 'one', 1))]));
      await apply(batch(table, route, [update(7, simple(1, 'one', 1), simple(1, 'seven', 7))]));
      const late = await apply(batch(table, route, [update(5, simple(1, 'one', 1), simple(1, 'five', 5))]));
      expect(late).toEqual({ applied: 0, skipped: 1, rejected: [] });
      expect(await readRows(table)).toEqual([simple(1, 'seven', 7)]);
    });

    versionedIt('does not bring a deleted row back when an older insert arrives late', async () => {
      const { table, route } = await freshTable();
      await apply(batch(table, route, [insert(1, simple(1, 'a', 1))]));
      await apply(batch(table, route, [remove(10, simple(1, 'a', 1))]));
      expect(await apply(batch(table, route, [insert(8, simple(1, 'zombie', 8))]))).toEqual({ applied: 0, skipped: 1, rejected: [] });
      expect(await readRows(table)).toEqual([]);
      // A tombstone for a row the target never had blocks too.
      await apply(batch(table, route, [remove(20, simple(5, 'x', 0))]));
      await apply(batch(table, route, [insert(15, simple(5, 'zombie', 15))]));
      expect(await readRows(table)).toEqual([]);
      // And a newer insert does go in.
      await apply(batch(table, route, [insert(21, simple(5, 'alive', 21))]));
      expect(await readRows(table)).toEqual([simple(5, 'alive', 21)]);
    });

    it('applies only the last of several changes of one key in a batch', async () => {
      const { table, route } = await freshTable();
      const result = await apply(
        batch(table, route, [
          insert(1, simple(1, 'a', 1)),
          update(2, simple(1, 'a', 1), simple(1, 'b', 2)),
          remove(3, simple(1, 'b', 2)),
          insert(4, simple(1, 'c', 4)),
          update(5, simple(1, 'c', 4), simple(1, 'd', 5)),
          insert(6, simple(2, 'x', 6)),
          remove(7, simple(2, 'x', 6)),
        ]),
      );
      expect(result).toEqual({ applied: 2, skipped: 0, rejected: [] });
      expect(await readRows(table)).toEqual([simple(1, 'd', 5)]);
      // The delete of key 2 left a tombstone at 7.
      await apply(batch(table, route, [insert(6, simple(2, 'x', 6))]));
      expect(await readRows(table)).toEqual([simple(1, 'd', 5)]);
    });

    it('round-trips every type exactly, NULL included', async () => {
      const { table, route } = await freshTable(allTypesColumns());
      const rows = allTypesRows();
      expect(await apply(batch(table, route, rows.map((row, i) => insert(i + 1, row))))).toEqual({
        applied: rows.length,
        skipped: 0,
        rejected: [],
      });
      const read = await readRows(table);
      expect(read.map(withoutJson)).toEqual(rows.map(withoutJson));
      for (const [i, row] of rows.entries()) {
        // JSON may come back re-spaced or reordered, but equal as a document and with every digit.
        const written = row.js;
        const got = read[i].js;
        if (written === null) expect(got).toBeNull();
        else {
          expect(JSON.parse(String(got))).toEqual(JSON.parse(String(written)));
          if (String(written).includes(BIG)) expect(String(got)).toContain(BIG);
        }
      }
    });

    it('updates every type in place', async () => {
      const { table, route } = await freshTable(allTypesColumns());
      const [first, second] = allTypesRows();
      await apply(batch(table, route, [insert(1, first)]));
      await apply(batch(table, route, [update(2, first, { ...second, id: first.id })]));
      expect((await readRows(table)).map(withoutJson)).toEqual([withoutJson({ ...second, id: first.id })]);
    });

    (options.refusesRows === false ? it.skip : it)(
      'turns rows the target refuses into RejectedChanges, recorded before commit, and applies the rest',
      async () => {
        const columns = simpleColumns().map((c) => (c.name === 'name' ? { ...c, nullable: false, length: 5, columnType: 'varchar(5)' } : c));
        const { table, route } = await freshTable(columns);
        const seen: { rejected: RejectedChange[]; checkpointDuringHook: number | null }[] = [];
        const hooks: ApplyHooks = {
          async recordRejected(rejected) {
            // Called inside the apply transaction: the new checkpoint is not visible yet.
            const during = await target.readCheckpoint(route);
            seen.push({ rejected, checkpointDuringHook: during?.watermark ?? null });
          },
        };
        const changes = [
          insert(1, simple(1, 'ok', 1)),
          insert(2, { id: 2, name: null, n: 2 }),
          insert(3, simple(3, 'far too long', 3)),
          insert(4, simple(4, 'ok4', 4)),
        ];
        const result = await target.apply(batch(table, route, changes, 4), hooks);
        expect(result.applied).toBe(2);
        expect(result.rejected.map((r) => r.change.seq)).toEqual([2, 3]);
        for (const rejected of result.rejected) {
          expect(rejected.code).not.toBeNull();
          expect(rejected.reason.length).toBeGreaterThan(0);
          expect(rejected.reason).not.toMatch(/^\s*insert/i); // the target's words, not our SQL
        }
        expect(seen).toEqual([{ rejected: result.rejected, checkpointDuringHook: null }]);
        expect(await readRows(table)).toEqual([simple(1, 'ok', 1), simple(4, 'ok4', 4)]);
        expect((await target.readCheckpoint(route))?.watermark).toBe(4);

        // Replayed, the refused rows are not refused again: their versions were written.
        expect(await target.apply(batch(table, route, changes, 4), hooks)).toEqual({ applied: 0, skipped: 4, rejected: [] });
        expect(seen).toHaveLength(1);
        // A newer, valid change of a refused row goes in.
        await apply(batch(table, route, [update(5, simple(2, 'x', 2), simple(2, 'fixed', 5))]));
        expect(await readRows(table)).toEqual([simple(1, 'ok', 1), simple(2, 'fixed', 5), simple(4, 'ok4', 4)]);
      },
    );

    (options.refusesRows === false ? it.skip : it)(
      'reapplies a refused change at its own seq once the cause is fixed (retrying a dead letter)',
      async () => {
        const columns = simpleColumns().map((c) => (c.name === 'name' ? { ...c, nullable: false } : c));
        const { table, route } = await freshTable(columns);
        const refused = insert(2, { id: 2, name: null, n: 2 });
        const collect: RejectedChange[] = [];
        const recording: ApplyHooks = { recordRejected: async (rejected) => void collect.push(...rejected) };
        const first = await target.apply(batch(table, route, [insert(1, simple(1, 'a', 1)), refused], 2), recording);
        expect(first.rejected.map((r) => r.change.seq)).toEqual([2]);

        // Still refused: the hook hears about it again, and nothing is written.
        const again = await target.apply({ ...batch(table, route, [refused], 0), reapply: true }, recording);
        expect(again).toEqual({ applied: 0, skipped: 0, rejected: [expect.objectContaining({ change: refused })], superseded: [] });
        expect(collect).toHaveLength(2);

        // A plain replay skips it (its version was recorded), as before.
        expect(await apply(batch(table, route, [refused], 0))).toEqual({ applied: 0, skipped: 1, rejected: [] });

        // Fix the cause (the column now allows NULL), then reapply: the row arrives.
        await target.ensureTable({ ...table, columns: simpleColumns() });
        const retried = await target.apply({ ...batch(table, route, [refused], 0), reapply: true }, noHooks);
        expect(retried).toEqual({ applied: 1, skipped: 0, rejected: [], superseded: [] });
        expect(await readRows({ ...table, columns: simpleColumns() })).toEqual([simple(1, 'a', 1), { id: 2, name: null, n: 2 }]);
        // Reapply never moves the checkpoint back (a retry carries watermark 0).
        expect((await target.readCheckpoint(route))?.watermark).toBe(2);
        // And a newer change of the row still wins over a later reapply of the old one.
        await apply(batch(table, route, [update(3, { id: 2, name: null, n: 2 }, simple(2, 'newer', 3))]));
        expect(await target.apply({ ...batch(table, route, [refused], 0), reapply: true }, noHooks)).toEqual({
          applied: 0,
          skipped: 1,
          rejected: [],
          superseded: [2],
        });
        expect(await readRows(table)).toEqual([simple(1, 'a', 1), simple(2, 'newer', 3)]);
      },
    );

    versionedIt('reapply skips a change older than the stored version (superseded), and never resurrects', async () => {
      const { table, route } = await freshTable();
      await apply(batch(table, route, [insert(1, simple(1, 'a', 1)), insert(2, simple(2, 'b', 2))]));
      await apply(batch(table, route, [update(5, simple(1, 'a', 1), simple(1, 'five', 5)), remove(6, simple(2, 'b', 2))]));
      const stale = [update(3, simple(1, 'a', 1), simple(1, 'three', 3)), insert(4, simple(2, 'zombie', 4))];
      expect(await target.apply({ ...batch(table, route, stale, 0), reapply: true }, noHooks)).toEqual({
        applied: 0,
        skipped: 2,
        rejected: [],
        superseded: [3, 4],
      });
      // Two changes of one key in a reapplied batch: the older is superseded by the newer.
      const both = [update(5, simple(1, 'a', 1), simple(1, 'five', 5)), update(7, simple(1, 'five', 5), simple(1, 'seven', 7))];
      expect(await target.apply({ ...batch(table, route, both, 0), reapply: true }, noHooks)).toEqual({
        applied: 1,
        skipped: 0,
        rejected: [],
        superseded: [5],
      });
      expect(await readRows(table)).toEqual([simple(1, 'seven', 7)]);
    });

    (options.refusesRows === false || options.rollsBackOnHookFailure === false ? it.skip : it)('commits nothing when recording the refused rows fails', async () => {
      const columns = simpleColumns().map((c) => (c.name === 'name' ? { ...c, nullable: false } : c));
      const { table, route } = await freshTable(columns);
      await apply(batch(table, route, [insert(1, simple(1, 'kept', 1))]));
      const failure = new Error('dead-letter store is down');
      const failing: ApplyHooks = {
        recordRejected: async () => {
          throw failure;
        },
      };
      const changes = [update(2, simple(1, 'kept', 1), simple(1, 'changed', 2)), insert(3, { id: 3, name: null, n: 3 })];
      await expect(target.apply(batch(table, route, changes), failing)).rejects.toBe(failure);
      // Invariant 3: without its dead letters recorded, the batch (rows and checkpoint) did not happen.
      expect(await readRows(table)).toEqual([simple(1, 'kept', 1)]);
      expect((await target.readCheckpoint(route))?.watermark).toBe(1);
    });

    it('moves the checkpoint only forward', async () => {
      const { table, route } = await freshTable();
      expect(await target.readCheckpoint(route)).toBeNull();
      await apply(batch(table, route, [insert(1, simple(1, 'a', 1))], 10));
      const saved = await target.readCheckpoint(route);
      expect(saved?.watermark).toBe(10);
      expect(saved?.updatedAt).toBeInstanceOf(Date);
      expect(Math.abs(Date.now() - (saved?.updatedAt.getTime() ?? 0))).toBeLessThan(60_000);
      await apply(batch(table, route, [], 5));
      expect((await target.readCheckpoint(route))?.watermark).toBe(10);
      await apply(batch(table, route, [], 12));
      expect((await target.readCheckpoint(route))?.watermark).toBe(12);
    });

    it('applies a batch larger than one statement', async () => {
      const { table, route } = await freshTable();
      const many = Array.from({ length: 1200 }, (_, i) => insert(i + 1, simple(i + 1, `r${i + 1}`, i)));
      expect(await apply(batch(table, route, many))).toEqual({ applied: 1200, skipped: 0, rejected: [] });
      const deletes = Array.from({ length: 600 }, (_, i) => remove(2000 + i, simple(i * 2 + 1, '', 0)));
      expect((await apply(batch(table, route, deletes))).applied).toBe(600);
      const rows = await readRows(table);
      expect(rows).toHaveLength(600);
      expect(rows[0]).toEqual(simple(2, 'r2', 1));
      expect(rows[599]).toEqual(simple(1200, 'r1200', 1199));
    });

    versionedIt('applies 5000-row batches: inserts, then updates and deletes, then a replay skips them all', async () => {
      const { table, route } = await freshTable();
      const inserts = Array.from({ length: 5000 }, (_, i) => insert(i + 1, simple(i + 1, `r${i + 1}`, i)));
      expect(await apply(batch(table, route, inserts))).toEqual({ applied: 5000, skipped: 0, rejected: [] });
      const mixed = Array.from({ length: 5000 }, (_, i) =>
        i % 5 === 0 ? remove(10_001 + i, simple(i + 1, '', 0)) : update(10_001 + i, simple(i + 1, '', 0), simple(i + 1, `u${i + 1}`, -i)),
      );
      expect(await apply(batch(table, route, mixed))).toEqual({ applied: 5000, skipped: 0, rejected: [] });
      expect(await apply(batch(table, route, inserts))).toEqual({ applied: 0, skipped: 5000, rejected: [] });
      const rows = await readRows(table);
      expect(rows).toHaveLength(4000);
      expect(rows[0]).toEqual(simple(2, 'u2', -1));
      expect(rows[3999]).toEqual(simple(5000, 'u5000', -4999));
      expect((await target.readCheckpoint(route))?.watermark).toBe(15_000);
    });

    versionedIt('writes the keys whose change is newer and skips the others, in one batch', async () => {
      const { table, route } = await freshTable();
      await apply(batch(table, route, [insert(10, simple(1, 'a', 10)), insert(11, simple(2, 'b', 11)), insert(12, simple(3, 'c', 12)), remove(13, simple(4, '', 0))]));
      const result = await apply(
        batch(table, route, [
          update(5, simple(1, 'a', 10), simple(1, 'older', 5)), // loses to 10
          update(20, simple(2, 'b', 11), simple(2, 'newer', 20)), // wins
          update(12, simple(3, 'c', 12), simple(3, 'same seq', 12)), // loses: equal is not newer
          insert(9, simple(4, 'zombie', 9)), // loses to the tombstone at 13
          insert(21, simple(5, 'new key', 21)), // wins: no version yet
          remove(22, simple(6, '', 0)), // wins: a tombstone for a row never seen
        ]),
      );
      expect(result).toEqual({ applied: 3, skipped: 3, rejected: [] });
      expect(await readRows(table)).toEqual([simple(1, 'a', 10), simple(2, 'newer', 20), simple(3, 'c', 12), simple(5, 'new key', 21)]);
      await apply(batch(table, route, [insert(15, simple(6, 'zombie', 15))]));
      expect((await readRows(table)).map((r) => r.id)).toEqual([1, 2, 3, 5]);
    });

    versionedIt('reapply in one batch: equal seqs applied, newer applied, older superseded', async () => {
      const { table, route } = await freshTable();
      await apply(batch(table, route, [insert(10, simple(1, 'a', 10)), insert(11, simple(2, 'b', 11)), insert(3, simple(3, 'c', 3)), remove(12, simple(3, 'c', 3))]));
      const changes = [
        update(10, simple(1, 'a', 10), simple(1, 'again', 10)), // equal: applied
        update(8, simple(2, 'b', 11), simple(2, 'older', 8)), // older: superseded
        remove(12, simple(3, 'c', 3)), // equal tombstone: applied (nothing left to delete)
        insert(30, simple(4, 'newer', 30)), // newer: applied
      ];
      expect(await target.apply({ ...batch(table, route, changes, 0), reapply: true }, noHooks)).toEqual({
        applied: 3,
        skipped: 1,
        rejected: [],
        superseded: [8],
      });
      expect(await readRows(table)).toEqual([simple(1, 'again', 10), simple(2, 'b', 11), simple(4, 'newer', 30)]);
      expect((await target.readCheckpoint(route))?.watermark).toBe(12);
    });

    (options.refusesRows === false ? it.skip : it)('refuses one row of a batch whose other keys win and lose', async () => {
      const columns = simpleColumns().map((c) => (c.name === 'name' ? { ...c, nullable: false } : c));
      const { table, route } = await freshTable(columns);
      await apply(batch(table, route, [insert(10, simple(1, 'a', 10)), insert(11, simple(2, 'b', 11))]));
      const recorded: RejectedChange[] = [];
      const hooks: ApplyHooks = { recordRejected: async (rejected) => void recorded.push(...rejected) };
      const changes = [
        update(5, simple(1, 'a', 10), simple(1, 'older', 5)),
        insert(12, { id: 3, name: null, n: 12 }),
        update(13, simple(2, 'b', 11), simple(2, 'ok', 13)),
        insert(14, simple(4, 'x', 14)),
      ];
      const result = await target.apply(batch(table, route, changes), hooks);
      expect(result).toEqual({ applied: 2, skipped: 1, rejected: [expect.objectContaining({ change: changes[1] })] });
      expect(recorded.map((r) => r.change.seq)).toEqual([12]);
      expect(await readRows(table)).toEqual([simple(1, 'a', 10), simple(2, 'ok', 13), simple(4, 'x', 14)]);
      // The refused row's version was written: a replay skips everything and refuses nothing.
      expect(await apply(batch(table, route, changes))).toEqual({ applied: 0, skipped: 4, rejected: [] });
    });

    it('never moves a row backwards when two applies of the same keys race', async () => {
      const { table, route } = await freshTable();
      for (let round = 0; round < 8; round += 1) {
        // New keys in the first four rounds, the same rows again after; the newer batch starts first every other round.
        const ids = Array.from({ length: 100 }, (_, i) => (round % 4) * 100 + i + 1);
        const base = round * 1000;
        const older = batch(table, `${route}-a`, ids.map((id) => update(base + id % 100, simple(id, '', 0), simple(id, 'older', base + id % 100))));
        const newer = batch(table, `${route}-b`, ids.map((id) => update(base + 500 - id % 100, simple(id, '', 0), simple(id, 'newer', base + 500 - id % 100))));
        const [first, second] = round % 2 === 0 ? [older, newer] : [newer, older];
        const results = await Promise.all([target.apply(first, noHooks), target.apply(second, noHooks)]);
        expect(results.map((r) => r.applied + r.skipped)).toEqual([100, 100]);
        const rows = (await readRows(table)).filter((row) => ids.includes(Number(row.id)));
        expect(rows).toEqual(ids.map((id) => simple(id, 'newer', base + 500 - id % 100)));
      }
    });

    versionedIt('never brings a deleted row back when a delete races an older insert of the same key', async () => {
      const { table, route } = await freshTable();
      for (let round = 0; round < 8; round += 1) {
        // A delete of rows the target never had (their inserts were refused, say), beside a retry of
        // those older inserts: whichever starts first, the delete is newer and the rows stay gone.
        const ids = Array.from({ length: 50 }, (_, i) => round * 100 + i + 1);
        const base = round * 1000;
        const deletes = batch(table, `${route}-d`, ids.map((id) => remove(base + 500 + id, simple(id, 'old', 0))));
        const inserts = { ...batch(table, `${route}-i`, ids.map((id) => insert(base + id, simple(id, 'old', base + id)))), reapply: true };
        const [first, second] = round % 2 === 0 ? [deletes, inserts] : [inserts, deletes];
        await Promise.all([target.apply(first, noHooks), target.apply(second, noHooks)]);
        expect((await readRows(table)).filter((row) => ids.includes(Number(row.id)))).toEqual([]);
        // And a late replay of the inserts still finds the tombstones.
        expect((await target.apply({ ...inserts, reapply: false }, noHooks)).applied).toBe(0);
      }
    });

    it('applies, moves and deletes rows with a two-column key', async () => {
      const columns = [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('code', 'string', 'varchar(10)', { nullable: false }), columnSpec('n', 'int', 'int(11)')];
      const { table, route } = await freshTable(columns, ['id', 'code']);
      const row = (id: number, code: string, n: number): Row => ({ id, code, n });
      const change = (seq: number, op: RowChange['op'], before: Row | null, after: Row | null): RowChange => {
        const image = (after ?? before) as Row;
        return { seq, op, key: { id: image.id, code: image.code }, before, after };
      };
      await apply(batch(table, route, [change(1, 'insert', null, row(1, 'a', 1)), change(2, 'insert', null, row(1, 'b', 2)), change(3, 'insert', null, row(2, 'a', 3))]));
      const result = await apply(
        batch(table, route, [change(4, 'delete', row(1, 'a', 1), null), change(5, 'update', row(1, 'b', 2), row(1, 'c', 5)), change(6, 'update', row(2, 'a', 3), row(2, 'a', 6))]),
      );
      expect(result).toEqual({ applied: 4, skipped: 0, rejected: [] }); // the move is a delete and an upsert
      expect(await readRows(table)).toEqual([row(1, 'c', 5), row(2, 'a', 6)]);
      await apply(batch(table, route, [change(2, 'insert', null, row(1, 'b', 2))])); // the old key's tombstone holds
      expect(await readRows(table)).toEqual([row(1, 'c', 5), row(2, 'a', 6)]);
    });

    it('round-trips text that looks like SQL or array syntax', async () => {
      const columns = [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('s', 'string', 'varchar(40)'), columnSpec('b', 'binary', 'varbinary(8)'), columnSpec('js', 'json', 'json')];
      const { table, route } = await freshTable(columns);
      const texts = ['NULL', 'null', '', ' padded ', '{1,2}', '"', '\\', 'a,b', '{"x"}', "it's", '\\"}{', 'ARRAY[1]', '\t\n', '{}'];
      const rows: Row[] = texts.map((s, i) => ({ id: i + 1, s, b: Buffer.from(s.slice(0, 8)), js: JSON.stringify({ s }) }));
      rows.push({ id: 100, s: null, b: null, js: 'null' }); // SQL NULL next to the JSON value null
      expect((await apply(batch(table, route, rows.map((row, i) => insert(i + 1, row))))).applied).toBe(rows.length);
      const read = await readRows(table);
      expect(read.map((r) => ({ ...r, js: JSON.parse(String(r.js)) }))).toEqual(rows.map((r) => ({ ...r, js: JSON.parse(String(r.js)) })));
    });

    (options.readable === false ? describe.skip : describe)('reading back in pieces (readRowsByKeys, scanRows: verify)', () => {
      const byKey = (key: string[]) => (rows: Row[]) => [...rows].sort(compareByKey(key));

      /** Every page of a scan, checking each page's size and that a page's `next` leads on. */
      async function scanAll(table: TargetTableSpec, limit: number): Promise<Row[][]> {
        const pages: Row[][] = [];
        let cursor: string | null = null;
        do {
          const page: { rows: Row[]; next: string | null } = await target.scanRows(table, cursor, limit);
          expect(page.rows.length).toBeLessThanOrEqual(limit);
          pages.push(page.rows);
          cursor = page.next;
          expect(pages.length).toBeLessThan(1000); // a cursor that never ends
        } while (cursor !== null);
        return pages;
      }

      /** The scan returns every row of readRows exactly once, in pages of at most `limit`. */
      async function expectScanEqualsReadRows(table: TargetTableSpec, limit: number, expectedCount: number): Promise<void> {
        const all = await readRows(table);
        expect(all).toHaveLength(expectedCount);
        const pages = await scanAll(table, limit);
        expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(expectedCount / limit));
        const scanned = pages.flat();
        expect(scanned).toHaveLength(all.length); // with the equality below: no row twice, none missing
        expect(byKey(table.key)(scanned)).toEqual(byKey(table.key)(all));
      }

      it('readRowsByKeys returns exactly the rows held for present, absent and deleted keys', async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, Array.from({ length: 10 }, (_, i) => insert(i + 1, simple(i + 1, `r${i + 1}`, i + 1)))));
        // Tombstones: two rows deleted, and a key deleted that the target never held.
        await apply(batch(table, route, [remove(11, simple(3, '', 0)), remove(12, simple(4, '', 0)), remove(13, simple(20, '', 0))]));
        const keys = [1, 2, 3, 4, 5, 10, 11, 20, 99, 1].map((id) => ({ id }));
        const rows = await target.readRowsByKeys(table, keys);
        expect(byKey(['id'])(rows)).toEqual([simple(1, 'r1', 1), simple(2, 'r2', 2), simple(5, 'r5', 5), simple(10, 'r10', 10)]);
        expect(await target.readRowsByKeys(table, [])).toEqual([]);
        expect(await target.readRowsByKeys(table, [{ id: 3 }, { id: 4 }])).toEqual([]);
      });

      it('readRowsByKeys takes 1,500 keys in one call (batched inside), tombstones and unknown keys among them', async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, Array.from({ length: 1300 }, (_, i) => insert(i + 1, simple(i + 1, `r${i + 1}`, i)))));
        await apply(batch(table, route, Array.from({ length: 130 }, (_, i) => remove(2000 + i, simple((i + 1) * 10, '', 0)))));
        const rows = await target.readRowsByKeys(table, Array.from({ length: 1500 }, (_, i) => ({ id: i + 1 })));
        expect(rows).toHaveLength(1170);
        expect(byKey(['id'])(rows)).toEqual(await readRows(table));
      });

      it('scanRows with limit 7 returns each of ~50 rows once, in pages of at most 7, ending with next = null', async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, Array.from({ length: 55 }, (_, i) => insert(i + 1, simple(i + 1, `r${i + 1}`, i)))));
        await apply(batch(table, route, [7, 14, 21, 28, 35].map((id, i) => remove(100 + i, simple(id, '', 0)))));
        await expectScanEqualsReadRows(table, 7, 50);
        // A page larger than the table: one page, and nothing after it.
        const whole = await target.scanRows(table, null, 500);
        expect(whole.next).toBeNull();
        expect(byKey(['id'])(whole.rows)).toEqual(await readRows(table));
      });

      it('scanRows returns every row present throughout exactly once while rows come and go', async () => {
        const { table, route } = await freshTable();
        await apply(batch(table, route, Array.from({ length: 40 }, (_, i) => insert(i + 1, simple(i * 2 + 2, `r${i}`, i)))));
        const first = await target.scanRows(table, null, 7);
        expect(first.next).not.toBeNull();
        // Meanwhile: a new row between existing keys, and a row deleted (wherever the target's order put them).
        const gone = 40;
        await apply(batch(table, route, [insert(100, simple(41, 'new', 1)), remove(101, simple(gone, '', 0))]));
        const rest = await scanFrom(table, first.next, 7);
        const ids = [...first.rows, ...rest].map((row) => Number(row.id));
        expect(new Set(ids).size).toBe(ids.length); // nothing twice
        const throughout = Array.from({ length: 40 }, (_, i) => i * 2 + 2).filter((id) => id !== gone);
        for (const id of throughout) expect(ids).toContain(id);
      });

      it('reads a table with a two-column key by keys and in pages', async () => {
        const columns = [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('code', 'string', 'varchar(10)', { nullable: false }), columnSpec('n', 'int', 'int(11)')];
        const { table, route } = await freshTable(columns, ['id', 'code']);
        const row = (id: number, code: string, n: number): Row => ({ id, code, n });
        const change = (seq: number, op: RowChange['op'], image: Row): RowChange => ({
          seq,
          op,
          key: { id: image.id, code: image.code },
          before: op === 'insert' ? null : image,
          after: op === 'delete' ? null : image,
        });
        // 4 × 13 keys sharing first and second components; two deleted: 50 rows.
        const all = Array.from({ length: 52 }, (_, i) => row((i % 4) + 1, `c${Math.floor(i / 4)}`, i));
        await apply(batch(table, route, all.map((r, i) => change(i + 1, 'insert', r))));
        await apply(batch(table, route, [change(100, 'delete', all[5]), change(101, 'delete', all[50])]));
        const keys = [
          { id: 1, code: 'c0' }, // present
          { id: 2, code: 'c1' }, // deleted (all[5])
          { id: 3, code: 'c12' }, // deleted (all[50])
          { id: 4, code: 'c12' }, // present
          { id: 1, code: 'c99' }, // absent: first component held, second not
          { id: 9, code: 'c0' }, // absent: second component held, first not
        ];
        expect(byKey(table.key)(await target.readRowsByKeys(table, keys))).toEqual([row(1, 'c0', 0), row(4, 'c12', 51)]);
        await expectScanEqualsReadRows(table, 7, 50);
      });

      it('reads a table with a binary key by keys and in pages, bytes exact across pages', async () => {
        const columns = [columnSpec('b', 'binary', 'varbinary(16)', { nullable: false }), columnSpec('n', 'int', 'int(11)')];
        const { table, route } = await freshTable(columns, ['b']);
        const bytes = (...values: number[]) => Buffer.from(values);
        const specials = [bytes(), bytes(0), bytes(0, 0), bytes(1), bytes(1, 0), bytes(0xff), bytes(0x80, 0x00, 0x7f)];
        const keys = [...specials, ...Array.from({ length: 44 }, (_, i) => bytes((i * 37) % 256, 0x00, 0xff - i))];
        const change = (seq: number, op: RowChange['op'], image: Row): RowChange => ({
          seq,
          op,
          key: { b: image.b },
          before: op === 'insert' ? null : image,
          after: op === 'delete' ? null : image,
        });
        await apply(batch(table, route, keys.map((b, i) => change(i + 1, 'insert', { b, n: i }))));
        await apply(batch(table, route, [change(100, 'delete', { b: bytes(0, 0), n: 2 })]));
        const asked = [bytes(), bytes(0xff), bytes(1, 0), bytes(0, 0), bytes(1, 0, 0), bytes(2)].map((b) => ({ b }));
        expect(byKey(table.key)(await target.readRowsByKeys(table, asked))).toEqual(byKey(table.key)([{ b: bytes(), n: 0 }, { b: bytes(0xff), n: 5 }, { b: bytes(1, 0), n: 4 }]));
        await expectScanEqualsReadRows(table, 7, 50);
      });

      it('reads an empty table as { rows: [], next: null }, and no rows by keys', async () => {
        const { table } = await freshTable();
        expect(await target.scanRows(table, null, 7)).toEqual({ rows: [], next: null });
        expect(await target.readRowsByKeys(table, [{ id: 1 }])).toEqual([]);
      });

      /** The rest of a scan after `cursor`. */
      async function scanFrom(table: TargetTableSpec, cursor: string | null, limit: number): Promise<Row[]> {
        const rows: Row[] = [];
        while (cursor !== null) {
          const page: { rows: Row[]; next: string | null } = await target.scanRows(table, cursor, limit);
          expect(page.rows.length).toBeLessThanOrEqual(limit);
          rows.push(...page.rows);
          cursor = page.next;
        }
        return rows;
      }
    });

    it('fails with TransientTargetError, without the password, when the target is down', async () => {
      if (!subject.unreachable) return;
      const secret = 'n0t-in-any-error';
      const down = subject.unreachable(secret);
      try {
        const table: TargetTableSpec = { name: 'contract_down', columns: simpleColumns(), key: ['id'] };
        for (const attempt of [
          () => down.ping(),
          () => down.ensureTable(table),
          () => down.apply(batch(table, 'down', [insert(1, simple(1, 'a', 1))]), noHooks),
          () => down.readCheckpoint('down'),
          () => down.checkTable(table),
        ]) {
          const error = await attempt().then(
            () => null,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(TransientTargetError);
          expect(inspect(error, { depth: 6 })).not.toContain(secret);
        }
      } finally {
        await down.close();
      }
    });

    function apply(b: ApplyBatch) {
      return target.apply(b, noHooks);
    }
  });
}

const noHooks: ApplyHooks = {
  async recordRejected(rejected) {
    throw new Error(`unexpected rejections: ${rejected.map((r) => `${r.change.seq}: ${r.reason}`).join('; ')}`);
  },
};

function batch(table: TargetTableSpec, routeId: string, changes: RowChange[], watermark?: number): ApplyBatch {
  return {
    routeId,
    table,
    changes,
    watermark: watermark ?? Math.max(0, ...changes.map((c) => c.seq)),
    origin: 'tributary:contract',
  };
}

function keyOf(row: Row): Row {
  return { id: row.id };
}

function insert(seq: number, row: Row): RowChange {
  return { seq, op: 'insert', key: keyOf(row), before: null, after: row };
}

function update(seq: number, before: Row, after: Row): RowChange {
  return { seq, op: 'update', key: keyOf(after), before, after };
}

function remove(seq: number, before: Row): RowChange {
  return { seq, op: 'delete', key: keyOf(before), before, after: null };
}

function simple(id: number, name: string, n: number): Row {
  return { id, name, n };
}

function step(id: number, dropped: string[], renamed: [string, string][] = []): TableStep {
  return { id, dropped, renamed: renamed.map(([from, to]) => ({ from, to })) };
}

/** A ColumnSpec as capture would read it from information_schema. */
export function columnSpec(name: string, type: LogicalType, columnType: string, over: Partial<ColumnSpec> = {}): ColumnSpec {
  const dataType = columnType.replace(/[ (].*$/, '');
  const size = /\((\d+)(?:,(\d+))?\)/.exec(columnType);
  return {
    name,
    type,
    dataType,
    columnType,
    nullable: true,
    unsigned: columnType.includes('unsigned'),
    length: ['char', 'varchar', 'binary', 'varbinary', 'bit'].includes(dataType) && size ? Number(size[1]) : null,
    precision: dataType === 'decimal' && size ? Number(size[1]) : null,
    scale: dataType === 'decimal' && size ? Number(size[2] ?? 0) : null,
    fsp: ['datetime', 'timestamp', 'time'].includes(dataType) ? Number(size?.[1] ?? 0) : null,
    members: null,
    ...over,
  };
}

function simpleColumns(): ColumnSpec[] {
  return [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('name', 'string', 'varchar(20)'), columnSpec('n', 'int', 'int(11)')];
}

// Beyond 2^53 but within uint64, which MySQL 8 JSON keeps exactly.
const BIG = '12345678901234567890';

export function allTypesColumns(): ColumnSpec[] {
  return [
    columnSpec('id', 'int', 'int(11)', { nullable: false }),
    columnSpec('ti', 'int', 'tinyint(4)'),
    columnSpec('tiu', 'int', 'tinyint(3) unsigned'),
    columnSpec('si', 'int', 'smallint(6)'),
    columnSpec('siu', 'int', 'smallint(5) unsigned'),
    columnSpec('mi', 'int', 'mediumint(9)'),
    columnSpec('miu', 'int', 'mediumint(8) unsigned'),
    columnSpec('i', 'int', 'int(11)'),
    columnSpec('iu', 'int', 'int(10) unsigned'),
    columnSpec('bi', 'bigint', 'bigint(20)'),
    columnSpec('biu', 'bigint', 'bigint(20) unsigned'),
    columnSpec('dec', 'decimal', 'decimal(30,10)'),
    columnSpec('f', 'float', 'float'),
    columnSpec('d', 'double', 'double'),
    columnSpec('dt', 'date', 'date'),
    columnSpec('dtm', 'datetime', 'datetime(6)'),
    columnSpec('ts', 'timestamp', 'timestamp(6)'),
    columnSpec('tm', 'time', 'time(3)'),
    columnSpec('yr', 'year', 'year(4)'),
    columnSpec('ch', 'string', 'char(10)'),
    columnSpec('vc', 'string', 'varchar(50)'),
    columnSpec('tx', 'string', 'mediumtext'),
    columnSpec('bn', 'binary', 'binary(4)'),
    columnSpec('vb', 'binary', 'varbinary(16)'),
    columnSpec('bl', 'binary', 'blob'),
    columnSpec('b1', 'bit', 'bit(1)'),
    columnSpec('b10', 'bit', 'bit(10)'),
    columnSpec('b64', 'bit', 'bit(64)'),
    columnSpec('en', 'enum', "enum('a','b','c')", { members: ['a', 'b', 'c'] }),
    columnSpec('st', 'set', "set('a','b','c')", { members: ['a', 'b', 'c'] }),
    columnSpec('js', 'json', 'json'),
  ];
}

export function allTypesRows(): Row[] {
  const extremes: Row = {
    id: 1,
    ti: 127,
    tiu: 255,
    si: -32768,
    siu: 65535,
    mi: -8388608,
    miu: 16777215,
    i: -2147483648,
    iu: 4294967295,
    bi: '-9223372036854775808',
    biu: '18446744073709551615',
    dec: '-12345678901234567890.0123456789',
    f: Math.fround(3.14159265),
    d: 0.30000000000000004,
    dt: '1000-01-01',
    dtm: '9999-12-31 23:59:59.999999',
    ts: '2038-01-19 03:14:07.999999',
    tm: '-838:59:58.123',
    yr: 2155,
    ch: 'abc',
    vc: 'héllo 😀 世界',
    tx: `it's "quoted" \\ back\nslash ${'😀'.repeat(100)}`,
    bn: Buffer.from([0x00, 0xff, 0x00, 0x01]),
    vb: Buffer.from([0x00, 0xff, 0x10, 0x00]),
    bl: Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256)),
    b1: '1',
    b10: '1000000001',
    b64: '1'.repeat(64),
    en: 'b',
    st: 'a,c',
    js: `{"b":[1,2,{"c":null,"d":"é😀"}],"a":"x","big":${BIG},"dec":1.10,"t":true}`,
  };
  const others: Row = {
    id: 2,
    ti: -128,
    tiu: 0,
    si: 32767,
    siu: 0,
    mi: 8388607,
    miu: 0,
    i: 2147483647,
    iu: 0,
    bi: '9223372036854775807',
    biu: '0',
    dec: '0.0000000001',
    f: Math.fround(-0.1),
    d: -1.7976931348623157e308,
    dt: '2024-02-29',
    dtm: '2024-02-29 12:00:00.000001',
    ts: '1970-01-01 00:00:01.000000',
    tm: '25:00:00.500',
    yr: 1901,
    ch: '',
    vc: '',
    tx: '',
    bn: Buffer.from([0xff, 0xff, 0xff, 0xff]),
    vb: Buffer.alloc(0),
    bl: Buffer.from([0]),
    b1: '0',
    b10: '0000000000',
    b64: '1' + '0'.repeat(62) + '1',
    en: 'a',
    st: '',
    js: '[1,"two",[3]]',
  };
  const nulls: Row = { id: 3 };
  for (const column of allTypesColumns()) if (column.name !== 'id') nulls[column.name] = null;
  return [extremes, others, nulls];
}

function withoutJson(row: Row): Row {
  const copy = { ...row };
  delete copy.js;
  return copy;
}

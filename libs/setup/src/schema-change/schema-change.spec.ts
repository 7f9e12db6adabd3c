import { ColumnSpec, TableSchema } from '@tributary/model';
import { column } from '@tributary/testing/fixtures';
import { InvalidInputError } from '../errors';
import { diffSchemas, DiffWitness } from './schema-diff';
import { planRouteEffect, RouteUnderChange } from './route-effects';

const varchar = (name: string, length: number, over: Partial<ColumnSpec> = {}) => column(name, 'string', { dataType: 'varchar', columnType: `varchar(${length})`, length, ...over });
const int = (name: string, over: Partial<ColumnSpec> = {}) => column(name, 'int', { dataType: 'int', columnType: 'int(11)', ...over });
const schema = (hash: string, columns: ColumnSpec[], key = ['id']): TableSchema => ({ table: 'orders', columns, key, keyKind: 'primary', hash });
const witness = (over: Partial<DiffWitness> = {}): DiffWitness => ({ renames: [], filledWhenAdded: new Map(), hasRows: true, ...over });

const before = schema('h0', [int('id', { nullable: false }), varchar('status', 20), varchar('note', 50), int('legacy')]);
const after = schema('h1', [int('id', { nullable: false }), varchar('state', 20), varchar('note', 200), column('qty', 'bigint', { dataType: 'bigint', columnType: 'bigint(20)' })]);

describe('diffSchemas', () => {
  it('tells renamed, dropped, added and widened columns apart, with the renames the statement named', () => {
    const diff = diffSchemas(before, after, witness({ renames: [{ from: 'status', to: 'state' }] }));
    expect(diff.changes.map(({ kind, column: name, exact }) => [kind, name, exact])).toEqual([
      ['dropped', 'legacy', true],
      ['renamed', 'state', true],
      ['widened', 'note', true],
      ['added', 'qty', true],
    ]);
    expect(diff.renames).toEqual([{ from: 'status', to: 'state' }]);
    expect(diff.dropped).toEqual(['legacy']);
  });

  it('sees a rename nobody named as a drop and an add', () => {
    const diff = diffSchemas(before, after, witness());
    expect(diff.changes.filter((change) => change.kind === 'dropped').map((change) => change.column)).toEqual(['status', 'legacy']);
    expect(diff.changes.some((change) => change.kind === 'added' && change.column === 'state')).toBe(true);
  });

  it('marks what the ALTER changed behind the triggers as not exact: a narrowing or retype, a filled column, a new key', () => {
    const narrowed = schema('h2', [int('id', { nullable: false }), varchar('status', 5), varchar('note', 50), int('legacy'), int('flag', { nullable: false })], ['id', 'legacy']);
    const diff = diffSchemas(before, narrowed, witness({ filledWhenAdded: new Map([['flag', 'its default 0']]) }));
    const inexact = diff.changes.filter((change) => !change.exact).map((change) => [change.kind, change.column]);
    expect(inexact).toEqual([
      ['retyped', 'status'],
      ['added', 'flag'],
      ['key', 'id, legacy'],
    ]);
    // An empty table had no rows to fill.
    expect(diffSchemas(before, narrowed, witness({ hasRows: false, filledWhenAdded: new Map([['flag', 'its default 0']]) })).changes.find((c) => c.column === 'flag')!.exact).toBe(true);
  });

  it('counts members appended to an ENUM as a widening', () => {
    const e = (members: string[]) => column('kind', 'enum', { dataType: 'enum', columnType: `enum(${members.map((m) => `'${m}'`).join(',')})`, members });
    const diff = diffSchemas(schema('a', [int('id'), e(['x', 'y'])]), schema('b', [int('id'), e(['x', 'y', 'z'])]), witness());
    expect(diff.changes).toEqual([expect.objectContaining({ kind: 'widened', exact: true })]);
  });

  it('refuses renames that do not fit the shapes', () => {
    expect(() => diffSchemas(before, after, witness({ renames: [{ from: 'nope', to: 'state' }] }))).toThrow(InvalidInputError);
    expect(() => diffSchemas(before, after, witness({ renames: [{ from: 'status', to: 'nope' }] }))).toThrow(/has no column nope/);
    expect(() => diffSchemas(before, after, witness({ renames: [{ from: 'note', to: 'state' }] }))).toThrow(/still has a column note/);
  });

  it('turns a swap into steps through a temporary name', () => {
    const swapped = schema('s', [int('id', { nullable: false }), varchar('note', 50), varchar('status', 20), int('legacy')]);
    const diff = diffSchemas(before, swapped, witness({ renames: [{ from: 'status', to: 'note' }, { from: 'note', to: 'status' }] }));
    expect(diff.renames).toHaveLength(4);
    expect(diff.changes.filter((change) => change.kind === 'renamed')).toHaveLength(2);
  });
});

describe('planRouteEffect', () => {
  const diff = diffSchemas(before, after, witness({ renames: [{ from: 'status', to: 'state' }] }));
  const route = (over: Partial<RouteUnderChange['route']> = {}, input: Partial<RouteUnderChange> = {}): RouteUnderChange => ({
    route: { id: 'r1', table: 'orders', targetId: 'pg', targetTable: 'orders_copy', filter: null, mapping: null, conflictPolicy: null, ...over },
    targetKind: 'postgres',
    droppedColumns: 'keep',
    sharesTargetTable: false,
    ...input,
  });

  it('renames at the target, keeps a dropped column by default, adds and widens', () => {
    const effect = planRouteEffect(route(), diff);
    expect(effect.step).toEqual({ dropped: [], renamed: [{ from: 'status', to: 'state' }] });
    expect(effect.actions).toEqual([
      'rename column status to state (its values kept)',
      expect.stringMatching(/^keep column legacy/),
      'widen column note (varchar(50) → varchar(200))',
      'add column qty (NULL-able; rows already there get NULL)',
    ]);
    expect(effect.resyncReasons).toEqual([]);
    expect(effect.waits).toBeNull();
  });

  it('drops the column when the route says so, but not from a table other routes write', () => {
    expect(planRouteEffect(route({}, { droppedColumns: 'drop' }), diff).step).toEqual({ dropped: ['legacy'], renamed: [{ from: 'status', to: 'state' }] });
    const shared = planRouteEffect(route({}, { droppedColumns: 'drop', sharesTargetTable: true }), diff);
    expect(shared.step).toBeNull();
    // The shared table keeps its column name: the route's mapping writes the new source column into it.
    expect(shared.rewritten!.mapping).toEqual({ rename: { state: 'status' } });
  });

  it('drops a kept column whose name a renamed column takes', () => {
    const reused = diffSchemas(before, schema('h5', [int('id', { nullable: false }), varchar('note', 20), int('legacy')]), witness({ renames: [{ from: 'status', to: 'note' }] }));
    const effect = planRouteEffect(route(), reused);
    expect(effect.step).toEqual({ dropped: ['note'], renamed: [{ from: 'status', to: 'note' }] });
    expect(effect.actions[1]).toMatch(/^drop column note: a renamed column takes its name/);
  });

  it('rewrites the rules into the new names; a mapped name at the target stays', () => {
    const effect = planRouteEffect(route({ filter: "status = 'open'", mapping: { rename: { status: 'order_status' } } }), diff);
    expect(effect.rewritten).toEqual({ filter: "state = 'open'", mapping: { rename: { state: 'order_status' } }, conflictPolicy: null });
    expect(effect.step).toBeNull();
    expect(effect.routeChanges).toHaveLength(2);
  });

  it('says when the route will wait: its rules name a dropped column', () => {
    const effect = planRouteEffect(route({ filter: 'legacy > 1' }), diff);
    expect(effect.waits).toMatch(/filter does not fit/);
  });

  it('asks for a re-sync where the target cannot follow: a Redis target keeps stored fields, a retyped column', () => {
    expect(planRouteEffect(route({}, { targetKind: 'redis' }), diff).resyncReasons).toEqual([expect.stringMatching(/keep the field status/)]);
    const retyped = diffSchemas(before, schema('h3', [int('id', { nullable: false }), int('status'), varchar('note', 50), int('legacy')]), witness());
    expect(planRouteEffect(route(), retyped).resyncReasons).toEqual([expect.stringMatching(/^status: varchar\(20\) → int\(11\)/)]);
  });

  it('carries new and dropped defaults to SQL targets in target names; an expression drops the old one; others keep none', () => {
    const withDefaults = schema('h0', [int('id', { nullable: false }), varchar('status', 20, { default: { kind: 'value', value: 'open' } }), varchar('note', 50), int('legacy', { default: { kind: 'value', value: '0' } })]);
    const changed = schema('h0', [
      int('id', { nullable: false }),
      varchar('status', 20, { default: { kind: 'value', value: 'new' } }),
      varchar('note', 50, { default: { kind: 'expression', sql: 'uuid()' } }),
      int('legacy'),
    ]);
    const defaults = diffSchemas(withDefaults, changed, witness());
    expect(defaults.changes.map(({ kind, column: name, detail, exact }) => [kind, name, detail, exact])).toEqual([
      ['default', 'status', "default 'open' → 'new'", true],
      ['default', 'note', 'default none → uuid()', true],
      ['default', 'legacy', 'default 0 → none', true],
    ]);
    const effect = planRouteEffect(route({ mapping: { rename: { status: 'order_status' } } }), defaults);
    expect(effect.step).toEqual({
      dropped: [],
      renamed: [],
      defaults: [
        { column: 'order_status', default: { kind: 'value', value: 'new' } },
        { column: 'note', default: null },
        { column: 'legacy', default: null },
      ],
    });
    expect(effect.actions).toEqual([
      "set the default of column order_status to 'new'",
      "drop the default of column note: uuid() is MariaDB's own expression, not carried",
      'drop the default of column legacy',
    ]);
    expect(effect.resyncReasons).toEqual([]);
    const redis = planRouteEffect(route({}, { targetKind: 'redis' }), defaults);
    expect([redis.step, redis.actions]).toEqual([null, ['nothing to change']]);
    // A column the mapping leaves out has no default to carry.
    expect(planRouteEffect(route({ mapping: { exclude: ['status', 'note', 'legacy'] } }), defaults).step).toBeNull();
  });

  it('counts a column added with a constant default as exact where the target fills its rows alike (SQL), not elsewhere', () => {
    const filled = schema('h6', [...before.columns, varchar('region', 8, { nullable: false, default: { kind: 'value', value: 'eu' } })]);
    const added = diffSchemas(before, filled, witness({ filledWhenAdded: new Map([['region', "its default 'eu'"]]) }));
    expect(added.changes).toEqual([expect.objectContaining({ kind: 'added', column: 'region', exact: false })]);
    const sql = planRouteEffect(route(), added);
    expect([sql.actions, sql.resyncReasons]).toEqual([['add column region (NULL-able; rows already there get its default, as at the source)'], []]);
    expect(planRouteEffect(route({}, { targetKind: 'redis' }), added).resyncReasons).toEqual([expect.stringMatching(/^region: /)]);
    const now = diffSchemas(before, schema('h7', [...before.columns, column('at', 'datetime', { dataType: 'datetime', columnType: 'datetime', default: { kind: 'now' } })]), witness({ filledWhenAdded: new Map([['at', 'the time of the ALTER']]) }));
    expect(planRouteEffect(route(), now).resyncReasons).toEqual([expect.stringMatching(/^at: /)]);
  });

  it('stops a route whose key changed: the target table must be made anew', () => {
    const rekeyed = diffSchemas(before, schema('h4', before.columns, ['id', 'note']), witness());
    expect(planRouteEffect(route(), rekeyed).waits).toMatch(/key changed .* new target table/);
  });
});

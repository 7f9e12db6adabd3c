import { TargetConfigError } from '../errors';
import { columnSpec } from '../test-kit/target.contract';
import { evolvedTable, ExistingTable, isNoop, planTableEvolution, tableProblems } from './table-evolution';
import { TableStep, TargetTableSpec } from '@tributary/model';

const id = columnSpec('id', 'int', 'int(11)', { nullable: false });
const spec = (...names: string[]): TargetTableSpec => ({
  name: 't',
  columns: [id, ...names.map((name) => columnSpec(name, 'string', 'varchar(10)', { nullable: !name.startsWith('nn') }))],
  key: ['id'],
});
const table = (columns: [string, boolean][], primaryKey = ['id'], steps?: number[]): ExistingTable => ({
  columns: columns.map(([name, nullable]) => ({ name, nullable })),
  primaryKey,
  ...(steps ? { steps } : {}),
});
const step = (id: number, dropped: string[], renamed: [string, string][] = []): TableStep => ({ id, dropped, renamed: renamed.map(([from, to]) => ({ from, to })) });

describe('planTableEvolution', () => {
  it('has nothing to do when the table matches the spec', () => {
    const plan = planTableEvolution(spec('a', 'nn_b'), table([['id', false], ['a', true], ['nn_b', false]]), false);
    expect(plan).toEqual({ steps: [], add: [], makeNullable: [], widen: [] });
    expect(isNoop(plan)).toBe(true);
  });

  it('adds the columns the table lacks, keeping the spec (the DDL makes them NULL-able)', () => {
    const plan = planTableEvolution(spec('a', 'nn_new'), table([['id', false], ['a', true]]), false);
    expect(plan.add.map((c) => c.name)).toEqual(['nn_new']);
    expect(plan.makeNullable).toEqual([]);
  });

  it('makes NOT NULL columns NULL-able when the spec leaves them out or allows NULL, never the key', () => {
    const plan = planTableEvolution(
      spec('a'),
      table([['id', false], ['a', false], ['gone', false], ['gone_nullable', true]]),
      false,
    );
    expect(plan).toEqual({ steps: [], add: [], makeNullable: ['a', 'gone'], widen: [] });
  });

  it('compares names without case only when told to', () => {
    const existing = table([['ID', false], ['A', true]], ['ID']);
    expect(isNoop(planTableEvolution(spec('a'), existing, true))).toBe(true);
    expect(() => planTableEvolution(spec('a'), existing, false)).toThrow(TargetConfigError);
  });

  it('refuses a different primary key, or none, saying a re-sync is needed', () => {
    const withKey = (key: string[]) => planTableEvolution(spec('a'), table([['id', false], ['a', false]], key), false);
    expect(() => withKey(['a'])).toThrow(
      "target table t has primary key (a), but the route's key is (id); a key change needs a re-sync into a new or emptied target table",
    );
    expect(() => withKey(['id', 'a'])).toThrow(TargetConfigError);
    expect(() => withKey([])).toThrow(/has primary key none/);
    const twoColumns: TargetTableSpec = { ...spec('a'), key: ['a', 'id'] };
    expect(isNoop(planTableEvolution(twoColumns, table([['id', false], ['a', false]], ['id', 'a']), false))).toBe(true);
  });

  it('refuses to touch a column whose name is not a safe identifier', () => {
    expect(() => planTableEvolution(spec(), table([['id', false], ['odd name', false]]), false)).toThrow(/"odd name" must become NULL-able/);
    expect(isNoop(planTableEvolution(spec(), table([['id', false], ['odd name', true]]), false))).toBe(true);
  });

  it('widens the columns the widening says, keeping NULL-able what was or becomes so, and nothing without a widening', () => {
    const widening = (existing: { name: string }) => (existing.name === 'a' ? 'varchar(50)' : existing.name === 'nn_b' ? 'bigint' : null);
    const plan = planTableEvolution(spec('a', 'nn_b'), table([['id', false], ['a', true], ['nn_b', false]]), false, widening);
    expect(plan.widen).toEqual([
      { name: 'a', type: 'varchar(50)', nullable: true },
      { name: 'nn_b', type: 'bigint', nullable: false },
    ]);
    expect(isNoop(plan)).toBe(false);
    expect(planTableEvolution(spec('a', 'nn_b'), table([['id', false], ['a', true], ['nn_b', false]]), false).widen).toEqual([]);
  });
});

describe('planTableEvolution with steps (renames and drops at the source)', () => {
  const plan = (names: string[], existing: ExistingTable, steps: TableStep[], key = ['id']) =>
    planTableEvolution({ ...spec(...names), key, steps }, existing, false);

  it('renames a column, keeping it as it is (NOT NULL here), and has nothing else to do', () => {
    const evolution = plan(['nn_b'], table([['id', false], ['nn_a', false]]), [step(1, [], [['nn_a', 'nn_b']])]);
    expect(evolution).toEqual({ steps: [{ id: 1, drop: [], rename: [{ from: 'nn_a', to: 'nn_b' }], defaults: [] }], add: [], makeNullable: [], widen: [] });
  });

  it('follows a chain of renames across steps, from wherever the table is', () => {
    const steps = [step(1, [], [['a', 'b']]), step(2, [], [['b', 'c']])];
    expect(plan(['c'], table([['id', false], ['a', true]]), steps).steps).toEqual([
      { id: 1, drop: [], rename: [{ from: 'a', to: 'b' }], defaults: [] },
      { id: 2, drop: [], rename: [{ from: 'b', to: 'c' }], defaults: [] },
    ]);
    const afterFirst = plan(['c'], table([['id', false], ['b', true]], ['id'], [1]), steps);
    expect(afterFirst.steps).toEqual([{ id: 2, drop: [], rename: [{ from: 'b', to: 'c' }], defaults: [] }]);
    expect(afterFirst.add).toEqual([]);
  });

  it('swaps two columns through a temporary name, each column keeping its NOT NULL, and never again once had', () => {
    const swap = [step(7, [], [['a', 't'], ['nn_b', 'a'], ['t', 'nn_b']])];
    // At the source nn_b (NOT NULL) is now called a; the spec calls the columns by their new names.
    const swapped: TargetTableSpec = { name: 't', key: ['id'], steps: swap, columns: [id, columnSpec('a', 'string', 'varchar(10)', { nullable: false }), columnSpec('nn_b', 'string', 'varchar(10)')] };
    const evolution = planTableEvolution(swapped, table([['id', false], ['a', true], ['nn_b', false]]), false);
    expect(evolution.steps).toEqual([{ id: 7, drop: [], rename: [{ from: 'a', to: 't' }, { from: 'nn_b', to: 'a' }, { from: 't', to: 'nn_b' }], defaults: [] }]);
    expect(evolution.makeNullable).toEqual([]);
    expect(isNoop(planTableEvolution(swapped, table([['id', false], ['a', false], ['nn_b', true]], ['id'], [7]), false))).toBe(true);
  });

  it('drops a column, and adds a column given the same name later as a new one', () => {
    const dropped = plan(['a'], table([['id', false], ['a', true], ['nn_x', false]]), [step(1, ['nn_x'])]);
    expect(dropped).toEqual({ steps: [{ id: 1, drop: ['nn_x'], rename: [], defaults: [] }], add: [], makeNullable: [], widen: [] });
    const readded = plan(['a', 'nn_x'], table([['id', false], ['a', true], ['nn_x', false]]), [step(1, ['nn_x'])]);
    expect(readded.steps).toEqual([{ id: 1, drop: ['nn_x'], rename: [], defaults: [] }]);
    expect(readded.add.map((c) => c.name)).toEqual(['nn_x']);
  });

  it('renames a key column, which stays the key under its new name', () => {
    const existing = table([['id', false], ['a', true]]);
    const keyed = (steps: TableStep[]) => planTableEvolution({ name: 't', key: ['ident'], steps, columns: [{ ...id, name: 'ident' }, columnSpec('a', 'string', 'varchar(10)')] }, existing, false);
    expect(keyed([step(3, [], [['id', 'ident']])])).toEqual({ steps: [{ id: 3, drop: [], rename: [{ from: 'id', to: 'ident' }], defaults: [] }], add: [], makeNullable: [], widen: [] });
    expect(() => keyed([])).toThrow(/primary key \(id\), but the route's key is \(ident\)/);
  });

  it('refuses a step that drops a key column: it would change the key', () => {
    expect(() => plan(['a'], table([['id', false], ['a', true]]), [step(4, ['id'])])).toThrow(TargetConfigError);
    expect(() => plan(['a'], table([['id', false], ['a', true]]), [step(4, ['id'])])).toThrow('target table t: step 4 drops id, a column of its primary key');
  });

  it('skips what is done already: a rename whose target exists or whose source is gone, a drop of an absent column', () => {
    const existing = table([['id', false], ['a', true], ['b', true]]);
    expect(plan(['a', 'b'], existing, [step(1, [], [['a', 'b']])]).steps).toEqual([{ id: 1, drop: [], rename: [], defaults: [] }]);
    expect(plan(['a', 'b'], existing, [step(1, ['gone'], [['old', 'b']])]).steps).toEqual([{ id: 1, drop: [], rename: [], defaults: [] }]);
    // Still a step to record as had: not a no-op.
    expect(isNoop(plan(['a', 'b'], existing, [step(1, [], [['a', 'b']])]))).toBe(false);
  });

  it('carries out the steps the table has not had, in the order of the spec, whatever it had (steps of several sources)', () => {
    const steps = [step(10, [], [['a', 'a1']]), step(2, ['b']), step(30, [], [['c', 'c1']])];
    const existing = table([['id', false], ['a', true], ['b', true], ['c', true]], ['id'], [2]);
    expect(plan(['a1', 'b', 'c1'], existing, steps).steps.map((s) => s.id)).toEqual([10, 30]);
  });

  it('matches names without case where told to, renaming the column as the table spells it', () => {
    const existing = table([['ID', false], ['Name', true], ['Old', true]], ['ID']);
    const evolution = planTableEvolution({ ...spec('label'), steps: [step(1, ['old'], [['name', 'label']])] }, existing, true);
    expect(evolution.steps).toEqual([{ id: 1, drop: ['Old'], rename: [{ from: 'Name', to: 'label' }], defaults: [] }]);
    expect(evolution.add).toEqual([]);
  });

  it("changes defaults after the step's drops and renames, on the columns the table has, typed by the spec column they become", () => {
    const text = (name: string) => columnSpec(name, 'string', 'varchar(10)');
    const set = (column: string, value: string | null) => ({ column, default: value === null ? null : { kind: 'value' as const, value } });
    const steps: TableStep[] = [
      { ...step(1, ['gone'], [['a', 'b']]), defaults: [set('b', 'x'), set('gone', 'y'), set('never', 'z'), set('c', null)] },
      { ...step(2, [], [['c', 'c2']]), defaults: [set('C2', 'w')] },
      step(3, [], [['b', 'b2']]),
    ];
    const columns = [id, text('b2'), text('c2')];
    const existing = table([['id', false], ['a', true], ['gone', true], ['c', true]]);
    const evolution = planTableEvolution({ name: 't', key: ['id'], steps, columns }, existing, true);
    expect(evolution.steps).toEqual([
      // b is called b2 in the spec (step 3): its type is b2's. gone was just dropped and never was never there: skipped.
      { id: 1, drop: ['gone'], rename: [{ from: 'a', to: 'b' }], defaults: [{ ...set('b', 'x'), spec: columns[1] }, { ...set('c', null), spec: columns[2] }] },
      { id: 2, drop: [], rename: [{ from: 'c', to: 'c2' }], defaults: [{ ...set('c2', 'w'), spec: columns[2] }] },
      { id: 3, drop: [], rename: [{ from: 'b', to: 'b2' }], defaults: [] },
    ]);
    // A column a later step drops has no spec column: its default is dropped, not guessed.
    const dropLater = planTableEvolution({ name: 't', key: ['id'], steps: [{ ...step(1, []), defaults: [set('a', 'x')] }, step(2, ['a'])], columns: [id] }, table([['id', false], ['a', true]]), false);
    expect(dropLater.steps[0].defaults).toEqual([set('a', 'x')]);
    // Only defaults: still a step, and once had nothing is left to do.
    const only: TargetTableSpec = { name: 't', key: ['id'], steps: [{ ...step(5, []), defaults: [set('a', 'x')] }], columns: [id, text('a')] };
    expect(isNoop(planTableEvolution(only, table([['id', false], ['a', true]]), false))).toBe(false);
    expect(isNoop(planTableEvolution(only, table([['id', false], ['a', true]], ['id'], [5]), false))).toBe(true);
    expect(evolvedTable(table([['id', false], ['a', true]]), only)).toEqual({ ...table([['id', false], ['a', true]]), steps: [5] });
  });

  it('lets checkTable judge the key after the steps', () => {
    const renamedKey: TargetTableSpec = { name: 't', key: ['ident'], steps: [step(3, [], [['id', 'ident']])], columns: [{ ...id, name: 'ident' }] };
    expect(tableProblems(renamedKey, table([['id', false]]), false)).toEqual([]);
    expect(tableProblems(renamedKey, table([['ident', false]], ['ident'], [3]), false)).toEqual([]);
  });
});

describe('evolvedTable (targets that record the table)', () => {
  const swap = [step(7, [], [['a', 't'], ['b', 'a'], ['t', 'b']])];

  it('counts every step of the spec as had when it records the table first', () => {
    expect(evolvedTable(null, { ...spec('a', 'b'), steps: swap })).toEqual({ ...table([['id', false], ['a', true], ['b', true]]), steps: [7] });
  });

  it('carries the steps out on the recorded columns once, remembering them', () => {
    const recorded = table([['id', false], ['a', false], ['b', true]]);
    // At the source a (NOT NULL) is now called b.
    const swapped: TargetTableSpec = { name: 't', key: ['id'], steps: swap, columns: [id, columnSpec('a', 'string', 'varchar(10)'), columnSpec('b', 'string', 'varchar(10)', { nullable: false })] };
    const once = evolvedTable(recorded, swapped);
    expect(once).toEqual({ ...table([['id', false], ['b', false], ['a', true]]), steps: [7] });
    expect(evolvedTable(once, swapped)).toEqual(once);
    const renamedKey = evolvedTable(recorded, { name: 't', key: ['ident'], steps: [...swap, step(8, ['b'], [['id', 'ident']])], columns: [{ ...id, name: 'ident' }] });
    expect(renamedKey).toEqual({ ...table([['ident', false], ['a', true]], ['ident']), steps: [7, 8] });
  });
});

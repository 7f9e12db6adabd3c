import { TargetConfigError } from '../errors';
import { columnSpec } from '../test-kit/target.contract';
import { ExistingTable, isNoop, planTableEvolution } from './table-evolution';
import { TargetTableSpec } from '@tributary/model';

const id = columnSpec('id', 'int', 'int(11)', { nullable: false });
const spec = (...names: string[]): TargetTableSpec => ({
  name: 't',
  columns: [id, ...names.map((name) => columnSpec(name, 'string', 'varchar(10)', { nullable: !name.startsWith('nn') }))],
  key: ['id'],
});
const table = (columns: [string, boolean][], primaryKey = ['id']): ExistingTable => ({
  columns: columns.map(([name, nullable]) => ({ name, nullable })),
  primaryKey,
});

describe('planTableEvolution', () => {
  it('has nothing to do when the table matches the spec', () => {
    const plan = planTableEvolution(spec('a', 'nn_b'), table([['id', false], ['a', true], ['nn_b', false]]), false);
    expect(plan).toEqual({ add: [], makeNullable: [], widen: [] });
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
    expect(plan).toEqual({ add: [], makeNullable: ['a', 'gone'], widen: [] });
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

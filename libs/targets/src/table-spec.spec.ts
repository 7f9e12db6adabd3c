import { columnSpec } from './test-kit/target.contract';
import { TargetConfigError } from './errors';
import { validateTableSpec } from './table-spec';

describe('validateTableSpec', () => {
  const columns = [columnSpec('id', 'int', 'int(11)')];

  it('accepts a plain table', () => {
    expect(validateTableSpec({ name: 'orders', columns, key: ['id'] }).name).toBe('orders');
  });

  it.each(['_tributary_rows', '_tributary_checkpoints', '_TRIBUTARY_ROWS', '_tributary_anything_later', 'tributary_routes', 'Tributary_Route_Progress'])(
    "refuses %s: Tributary's own bookkeeping, never a route's table",
    (name) => {
      expect(() => validateTableSpec({ name, columns, key: ['id'] })).toThrow(TargetConfigError);
      expect(() => validateTableSpec({ name, columns, key: ['id'] })).toThrow(/is reserved/);
    },
  );

  it('still lets user tables that merely mention tributary through', () => {
    expect(validateTableSpec({ name: 'tributary_orders', columns, key: ['id'] }).name).toBe('tributary_orders');
    expect(validateTableSpec({ name: 'my_tributary_rows', columns, key: ['id'] }).name).toBe('my_tributary_rows');
  });

  it.each(['_tributary_seq', '_Tributary_Seq', '_tributary_later'])('refuses a column named %s: Tributary adds its own bookkeeping columns to target tables', (name) => {
    const spec = { name: 'orders', columns: [...columns, columnSpec(name, 'int', 'int(11)')], key: ['id'] };
    expect(() => validateTableSpec(spec)).toThrow(TargetConfigError);
    expect(() => validateTableSpec(spec)).toThrow(`orders: column ${name} is reserved`);
  });

  it('lets columns that merely mention tributary through', () => {
    const spec = { name: 'orders', columns: [...columns, columnSpec('tributary_seq', 'int', 'int(11)')], key: ['id'] };
    expect(validateTableSpec(spec).columns).toHaveLength(2);
  });

  it('checks the names of the steps like column names, and their ids', () => {
    const step = (dropped: string[], renamed: [string, string][] = [], id = 1) => ({ id, dropped, renamed: renamed.map(([from, to]) => ({ from, to })) });
    const withSteps = (...steps: ReturnType<typeof step>[]) => ({ name: 'orders', columns, key: ['id'], steps });
    expect(validateTableSpec(withSteps(step(['old'], [['a', 'b']]), step([], [], 2))).steps).toHaveLength(2);
    expect(() => validateTableSpec(withSteps(step(['bad name'])))).toThrow(TargetConfigError);
    expect(() => validateTableSpec(withSteps(step([], [['a', 'b`c']])))).toThrow(TargetConfigError);
    // Never Tributary's own columns (PostgreSQL's row version).
    expect(() => validateTableSpec(withSteps(step(['_tributary_seq'])))).toThrow('orders: step 1: column _tributary_seq is reserved');
    expect(() => validateTableSpec(withSteps(step([], [['_tributary_seq', 'x']])))).toThrow(/is reserved/);
    expect(() => validateTableSpec(withSteps(step([]), step([])))).toThrow(/step ids must be distinct integers/);
  });

  it("checks the columns of a step's default changes like column names", () => {
    const withDefault = (column: string) => ({ name: 'orders', columns, key: ['id'], steps: [{ id: 1, dropped: [], renamed: [], defaults: [{ column, default: null }] }] });
    expect(validateTableSpec(withDefault('status')).steps).toHaveLength(1);
    expect(() => validateTableSpec(withDefault("x' DEFAULT 1"))).toThrow(TargetConfigError);
    expect(() => validateTableSpec(withDefault('_tributary_seq'))).toThrow('orders: step 1: column _tributary_seq is reserved');
  });
});

import { compileFilter } from './filter/compile';
import { renamedColumn, renameRuleColumns, sequentialRenames, undoRenames } from './column-renames';

describe('sequentialRenames', () => {
  it('keeps renames that free their names in order as they are', () => {
    expect(sequentialRenames([{ from: 'a', to: 'b' }, { from: 'c', to: 'd' }])).toEqual([{ from: 'a', to: 'b' }, { from: 'c', to: 'd' }]);
  });

  it('turns a swap into steps through temporary names', () => {
    const steps = sequentialRenames([{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }]);
    expect(renamedColumn('a', steps)).toBe('b');
    expect(renamedColumn('b', steps)).toBe('a');
    // Applied one by one on {a, b}, no step lands on a name in use.
    const columns = new Set(['a', 'b']);
    for (const { from, to } of steps) {
      expect(columns.has(to)).toBe(false);
      columns.delete(from);
      columns.add(to);
    }
    expect([...columns].sort()).toEqual(['a', 'b']);
  });

  it('turns a chain applied together (a → b while b → c) into steps', () => {
    const steps = sequentialRenames([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }], (name) => name === '_trb_rename_0');
    expect(renamedColumn('a', steps)).toBe('b');
    expect(renamedColumn('b', steps)).toBe('c');
    expect(steps.some((step) => step.to === '_trb_rename_0')).toBe(false);
  });
});

describe('undoRenames', () => {
  it('inverts the steps, last first', () => {
    const steps = [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }];
    expect(renamedColumn('c', undoRenames(steps))).toBe('a');
  });
});

describe('renameRuleColumns', () => {
  const renames = [{ from: 'status', to: 'state' }, { from: 'amount', to: 'total' }];

  it('renames the columns a filter names, leaving strings and keywords alone', () => {
    const { filter } = renameRuleColumns({ filter: "status = 'status' and `amount` > 5 or not (region in ('amount'))" }, renames);
    expect(filter).toBe("state = 'status' and total > 5 or not (region in ('amount'))");
  });

  it('quotes a new name the filter language could not read bare', () => {
    const { filter } = renameRuleColumns({ filter: 'status = 1' }, [{ from: 'status', to: 'in' }]);
    expect(filter).toBe('`in` = 1');
    expect(() => compileFilter(filter!, [{ name: 'in', type: 'int', dataType: 'int', columnType: 'int', nullable: true, unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null }])).not.toThrow();
  });

  it('renames source names in include, exclude and rename, keeping target names', () => {
    const { mapping } = renameRuleColumns({ mapping: { include: ['id', 'status'], rename: { amount: 'amount_cents', id: 'order_id' }, computed: [{ name: 'src', value: 'source' }] } }, renames);
    expect(mapping).toEqual({ include: ['id', 'state'], rename: { total: 'amount_cents', id: 'order_id' }, computed: [{ name: 'src', value: 'source' }] });
    expect(renameRuleColumns({ mapping: { exclude: ['amount'] } }, renames).mapping).toEqual({ exclude: ['total'] });
  });

  it('renames the conflict policy column', () => {
    expect(renameRuleColumns({ conflictPolicy: { resolution: 'newer-wins', column: 'amount' } }, renames).conflictPolicy).toEqual({ resolution: 'newer-wins', column: 'total' });
  });

  it('returns the rules as they were without renames', () => {
    const rules = { filter: 'a = 1', mapping: null };
    expect(renameRuleColumns(rules, [])).toBe(rules);
  });
});

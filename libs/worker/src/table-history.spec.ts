import { SchemaChangeRecord } from '@tributary/control';
import { TableHistory } from './table-history';

const change = (id: number, fromHash: string, toHash: string, renames: SchemaChangeRecord['renames'], routeSteps: SchemaChangeRecord['routeSteps'] = {}): SchemaChangeRecord => ({
  id,
  sourceId: 's',
  table: 't',
  fromHash,
  toHash,
  renames,
  routeSteps,
});

describe('TableHistory', () => {
  // h0 --(7: status → state, drop legacy at r1)--> h1 --(9: state → phase)--> h2
  const history = new TableHistory([
    change(7, 'h0', 'h1', [{ from: 'status', to: 'state' }], { r1: { dropped: ['legacy'], renamed: [{ from: 'status', to: 'state' }] } }),
    change(9, 'h1', 'h2', [{ from: 'state', to: 'phase' }], { r1: { dropped: [], renamed: [{ from: 'state', to: 'phase' }] } }),
  ]);

  it('gives the steps that lead to a schema, none for the first one', () => {
    expect(history.stepsFor('r1', 'h0')).toEqual([]);
    expect(history.stepsFor('r1', 'h1')).toEqual([{ id: 7, dropped: ['legacy'], renamed: [{ from: 'status', to: 'state' }] }]);
    expect(history.stepsFor('r1', 'h2').map((step) => step.id)).toEqual([7, 9]);
    expect(history.stepsFor('other', 'h2')).toEqual([]);
  });

  it('renames the rules back for older schemas and forward for newer ones', () => {
    const newest = { filter: "phase = 'open'", namesAsOf: 9 };
    expect(history.rulesFor(newest, 'h2')).toBe(newest);
    expect(history.rulesFor(newest, 'h1').filter).toBe("state = 'open'");
    expect(history.rulesFor(newest, 'h0').filter).toBe("status = 'open'");
    // Rules still in the names of change 7 (a worker that has not seen the rewrite yet) meet changes of h2.
    expect(history.rulesFor({ filter: "state = 'open'", namesAsOf: 7 }, 'h2').filter).toBe("phase = 'open'");
    // null: the newest names.
    expect(history.rulesFor({ filter: "phase = 'open'", namesAsOf: null }, 'h0').filter).toBe("status = 'open'");
  });

  it('takes a schema an ALTER returned to at its newest recording', () => {
    const undone = new TableHistory([
      change(1, 'h0', 'h1', [{ from: 'a', to: 'b' }], { r: { dropped: [], renamed: [{ from: 'a', to: 'b' }] } }),
      change(2, 'h1', 'h0', [{ from: 'b', to: 'a' }], { r: { dropped: [], renamed: [{ from: 'b', to: 'a' }] } }),
    ]);
    expect(undone.stepsFor('r', 'h0').map((step) => step.id)).toEqual([1, 2]);
    expect(undone.versionFor('h0')).toBe('2');
    expect(undone.versionFor('h1')).toBe('1');
    expect(undone.rulesFor({ filter: 'a = 1', namesAsOf: 2 }, 'h1').filter).toBe('b = 1');
  });

  it('tells whether the target table had steps after a schema', () => {
    expect(history.changedAfter('r1', 'h0')).toBe(true);
    expect(history.changedAfter('r1', 'h1')).toBe(true);
    expect(history.changedAfter('r1', 'h2')).toBe(false);
    expect(history.changedAfter('other', 'h0')).toBe(false);
  });

  it('gives a change that only sets defaults (same schema) as a step of that schema, which moves no dead letter aside', () => {
    const defaults = { r1: { dropped: [], renamed: [], defaults: [{ column: 'phase', default: { kind: 'value' as const, value: 'new' } }] } };
    const later = new TableHistory([...(history as unknown as { changes: SchemaChangeRecord[] }).changes, change(12, 'h2', 'h2', [], defaults)]);
    expect(later.stepsFor('r1', 'h2').map((step) => step.id)).toEqual([7, 9, 12]);
    expect(later.versionFor('h2')).toBe('12');
    expect(later.changedAfter('r1', 'h2')).toBe(false);
    expect(later.changedAfter('r1', 'h1')).toBe(true);
  });

  it('knows the changes it holds', () => {
    expect(history.knows(7)).toBe(true);
    expect(history.knows(null)).toBe(true);
    expect(history.knows(8)).toBe(false);
  });
});

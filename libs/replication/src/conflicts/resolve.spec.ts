import { ColumnSpec, Op, Row } from '@tributary/model';
import { compareValues, ConflictKind, ConflictPolicy, decide, detectConflict, DetectMode } from '../index';
import { column as col } from '@tributary/testing/fixtures';

const columns = [col('id', 'int'), col('x', 'int'), col('y', 'int'), col('ts', 'datetime', { fsp: 0 })];
const compared = ['id', 'x', 'y', 'ts'];
const policy = (resolution: ConflictPolicy['resolution'], extra: Partial<ConflictPolicy> = {}): ConflictPolicy => ({
  resolution, detect: 'all', column: resolution === 'newer-wins' ? 'ts' : null, merge: false, resolver: resolution === 'custom' ? 'r' : null, ...extra,
});
const T = (s: string) => `2024-01-01 00:00:${s}`;
const base: Row = { id: 1, x: 1, y: 1, ts: T('00') };

function run(op: Op, before: Row | null, after: Row | null, target: Row | null, kind: ConflictKind, p: ConflictPolicy) {
  return decide({ change: { op, before, after }, target, kind, policy: p, columns, compared });
}

describe('decide: fixed policies', () => {
  const cases: [Op, Row | null, Row | null, Row | null, ConflictKind][] = [
    ['insert', null, base, { ...base, x: 9 }, 'exists'],
    ['update', base, { ...base, x: 2 }, { ...base, y: 2 }, 'mismatch'],
    ['update', base, { ...base, x: 2 }, null, 'missing'],
    ['delete', base, null, { ...base, y: 2 }, 'mismatch'],
    ['delete', base, null, null, 'missing'],
  ];
  it.each(cases)('%s %s…: source-wins applies, target-wins keeps, manual parks, custom throws', (op, before, after, target, kind) => {
    const s = run(op, before, after, target, kind, policy('source-wins'));
    expect(s.decision).toEqual({ action: 'apply' });
    expect(s.reason).toMatch(/^source-wins: /);
    const t = run(op, before, after, target, kind, policy('target-wins'));
    expect(t.decision).toEqual({ action: 'keep' });
    expect(t.reason).toMatch(/^target-wins: /);
    const m = run(op, before, after, target, kind, policy('manual'));
    expect(m.decision).toEqual({ action: 'park' });
    expect(m.reason).toMatch(/^manual: /);
    expect(() => run(op, before, after, target, kind, policy('custom'))).toThrow(/custom/);
  });
});

describe('decide: newer-wins', () => {
  const p = policy('newer-wins');

  it('insert exists / update mismatch: the newer row wins', () => {
    const newer = run('insert', null, { ...base, ts: T('02') }, { ...base, x: 5, ts: T('01') }, 'exists', p);
    expect(newer.decision).toEqual({ action: 'apply' });
    expect(newer.reason).toBe(`newer-wins on ts: incoming ${T('02')} is newer than the target's ${T('01')}; the incoming row wins`);
    const older = run('update', base, { ...base, x: 2, ts: T('01') }, { ...base, y: 2, ts: T('02') }, 'mismatch', p);
    expect(older.decision).toEqual({ action: 'keep' });
    expect(older.reason).toBe(`newer-wins on ts: the target's ${T('02')} is newer than incoming ${T('01')}; the target row is kept`);
  });

  it('a tie goes to the row whose contents sort after the other, the same way on every node', () => {
    const after = { ...base, x: 2, ts: T('01') };
    const target = { ...base, y: 2, ts: T('01') };
    const atB = run('update', base, after, target, 'mismatch', p); // a's change arriving at b
    const atA = run('update', base, target, after, 'mismatch', p); // b's change arriving at a
    expect(atB.decision).toEqual({ action: 'apply' });
    expect(atA.decision).toEqual({ action: 'keep' });
    expect(atB.reason).toMatch(/tie at 2024-01-01 00:00:01, the incoming row sorts after the other/);
    expect(atA.reason).toMatch(/tie at 2024-01-01 00:00:01, the target's row sorts after the other/);
  });

  it('a null version is older than any version', () => {
    expect(run('update', base, { ...base, ts: null }, { ...base, x: 3 }, 'mismatch', p).decision).toEqual({ action: 'keep' });
    expect(run('update', base, { ...base, x: 2 }, { ...base, ts: null }, 'mismatch', p).decision).toEqual({ action: 'apply' });
  });

  it('update missing → apply (an update wins over a delete); delete missing → apply (nothing to do)', () => {
    const u = run('update', base, { ...base, x: 2 }, null, 'missing', p);
    expect(u.decision).toEqual({ action: 'apply' });
    expect(u.reason).toMatch(/update wins over a delete/);
    const d = run('delete', base, null, null, 'missing', p);
    expect(d.decision).toEqual({ action: 'apply' });
    expect(d.reason).toMatch(/nothing to do/);
  });

  it('delete mismatch: kept when the target is newer, applied when the deleter saw a newer one; a tie by contents', () => {
    expect(run('delete', base, null, { ...base, y: 2, ts: T('05') }, 'mismatch', p).decision).toEqual({ action: 'keep' });
    expect(run('delete', base, null, { ...base, y: 2 }, 'mismatch', p).decision).toEqual({ action: 'keep' });
    expect(run('delete', { ...base, y: 3 }, null, { ...base, y: 2 }, 'mismatch', p).decision).toEqual({ action: 'apply' });
    const applied = run('delete', { ...base, ts: T('09') }, null, { ...base, y: 2, ts: T('05') }, 'mismatch', p);
    expect(applied.decision).toEqual({ action: 'apply' });
    expect(applied.reason).toMatch(/deleted row's 2024-01-01 00:00:09 is newer than the target's 2024-01-01 00:00:05/);
  });

  it('refuses a missing or unknown version column', () => {
    expect(() => run('update', base, base, base, 'mismatch', { ...p, column: null })).toThrow(/needs a timestamp or version column/);
    expect(() => run('update', base, base, base, 'mismatch', { ...p, column: 'nope' })).toThrow(/not a target column/);
  });

  it('compares decimal versions exactly', () => {
    const cols = [col('id', 'int'), col('v', 'decimal')];
    const out = decide({
      change: { op: 'update', before: { id: 1, v: '1' }, after: { id: 1, v: '12345678901234567891' } },
      target: { id: 1, v: '12345678901234567890' },
      kind: 'mismatch',
      policy: { ...p, column: 'v' },
      columns: cols,
      compared: ['id', 'v'],
    });
    expect(out.decision).toEqual({ action: 'apply' });
  });
});

describe('decide: newer-wins with merge', () => {
  const p = policy('newer-wins', { merge: true });

  it('merges disjoint changes into a written row with the greater version', () => {
    const out = run('update', base, { ...base, y: 2, ts: T('02') }, { ...base, x: 2, ts: T('01'), extra: 'kept' }, 'mismatch', p);
    expect(out.decision).toEqual({ action: 'write', row: { id: 1, x: 2, y: 2, ts: T('02'), extra: 'kept' } });
    expect(out.reason).toMatch(/^newer-wins on ts \(merge\): incoming .* is newer .*; incoming y merged into the target row$/);
    const older = run('update', base, { ...base, y: 2, ts: T('01') }, { ...base, x: 2, ts: T('02') }, 'mismatch', p);
    expect(older.decision).toEqual({ action: 'write', row: { id: 1, x: 2, y: 2, ts: T('02') } });
  });

  it('a column both changed takes the row-level winner\'s value', () => {
    const incomingNewer = run('update', base, { ...base, x: 2, y: 2, ts: T('02') }, { ...base, x: 3, ts: T('01') }, 'mismatch', p);
    expect(incomingNewer.decision).toEqual({ action: 'apply' }); // merged = after on compared
    const targetNewer = run('update', base, { ...base, x: 2, y: 2, ts: T('01') }, { ...base, x: 3, ts: T('02') }, 'mismatch', p);
    expect(targetNewer.decision).toEqual({ action: 'write', row: { id: 1, x: 3, y: 2, ts: T('02') } });
  });

  it('keeps the target when the merge changes nothing', () => {
    const out = run('update', base, { ...base, x: 2, ts: T('01') }, { ...base, x: 3, ts: T('02') }, 'mismatch', p);
    expect(out.decision).toEqual({ action: 'keep' });
    expect(out.reason).toMatch(/keeps the target row/);
  });

  it('applies when the merge equals the incoming row', () => {
    const out = run('update', base, { ...base, x: 2, ts: T('02') }, { ...base, ts: T('01') }, 'mismatch', p);
    expect(out.decision).toEqual({ action: 'apply' });
  });

  it('merges only update mismatches; other kinds decide as without merge', () => {
    expect(run('insert', null, { ...base, ts: T('02') }, { ...base, x: 5, ts: T('01') }, 'exists', p).decision).toEqual({ action: 'apply' });
    expect(run('insert', null, { ...base, ts: T('01') }, { ...base, x: 5, ts: T('02') }, 'exists', p).decision).toEqual({ action: 'keep' });
    expect(run('update', base, { ...base, x: 2 }, null, 'missing', p).decision).toEqual({ action: 'apply' });
    expect(run('delete', base, null, { ...base, ts: T('02') }, 'mismatch', p).decision).toEqual({ action: 'keep' });
  });
});

describe('convergence of two nodes replicating to each other', () => {
  /** One node receiving the other's change: detect, decide, write. */
  function receive(node: Row, change: { op: Op; before: Row; after: Row }, p: ConflictPolicy, detect: DetectMode = 'all'): Row {
    const kind = detectConflict(change, node, detect, p.column, compared);
    if (kind === null) return change.after;
    const { decision } = decide({ change, target: node, kind, policy: p, columns, compared });
    switch (decision.action) {
      case 'apply':
        return change.after;
      case 'keep':
        return node;
      case 'write':
        return decision.row;
      case 'park':
        throw new Error('parked');
    }
  }

  function exchange(aTs: string, bTs: string, p: ConflictPolicy, detect: DetectMode = 'all'): { a: Row; b: Row; changeA: Row; changeB: Row } {
    const changeA = { ...base, x: 2, ts: aTs };
    const changeB = { ...base, y: 2, ts: bTs };
    // Each node has made its own change; each receives the other's.
    const a = receive(changeA, { op: 'update', before: base, after: changeB }, p, detect);
    const b = receive(changeB, { op: 'update', before: base, after: changeA }, p, detect);
    return { a, b, changeA, changeB };
  }

  it.each<DetectMode>(['all', 'changed', 'version'])('newer-wins + merge (detect %s): both end with both changes', (detect) => {
    const { a, b } = exchange(T('01'), T('02'), policy('newer-wins', { merge: true }), detect);
    expect(a).toEqual({ id: 1, x: 2, y: 2, ts: T('02') });
    expect(b).toEqual(a);
  });

  it('newer-wins: both end with b\'s (newer) row', () => {
    const { a, b, changeB } = exchange(T('01'), T('02'), policy('newer-wins'));
    expect(a).toEqual(changeB);
    expect(b).toEqual(changeB);
  });

  it('newer-wins on an exact tie: both end with the row whose contents sort after (a\'s, x: 2)', () => {
    const { a, b, changeA } = exchange(T('01'), T('01'), policy('newer-wins'));
    expect(a).toEqual(changeA);
    expect(b).toEqual(changeA);
  });

  it('newer-wins + merge on an exact tie: both end with the same merged row', () => {
    const { a, b } = exchange(T('01'), T('01'), policy('newer-wins', { merge: true }));
    expect(a).toEqual({ id: 1, x: 2, y: 2, ts: T('01') });
    expect(b).toEqual(a);
  });

  it('newer-wins + merge, both changing the same column on a tie: the value of the row that sorts after, on both', () => {
    const p = policy('newer-wins', { merge: true });
    const changeA = { ...base, x: 2, ts: T('01') };
    const changeB = { ...base, x: 3, ts: T('01') };
    const a = receive(changeA, { op: 'update', before: base, after: changeB }, p);
    const b = receive(changeB, { op: 'update', before: base, after: changeA }, p);
    expect(a).toEqual(changeB);
    expect(b).toEqual(changeB);
  });

  it('newer-wins: an update and a concurrent delete converge on the updated row', () => {
    const p = policy('newer-wins');
    const updated = { ...base, y: 2, ts: T('01') };
    // a deleted the row, receives b's update: missing → apply (insert).
    const kindA = detectConflict({ op: 'update', before: base, after: updated }, null, 'all', 'ts', compared);
    expect(kindA).toBe('missing');
    expect(run('update', base, updated, null, kindA!, p).decision).toEqual({ action: 'apply' });
    // b updated the row, receives a's delete: mismatch, the target is newer → keep.
    const kindB = detectConflict({ op: 'delete', before: base, after: null }, updated, 'all', 'ts', compared);
    expect(kindB).toBe('mismatch');
    expect(run('delete', base, null, updated, kindB!, p).decision).toEqual({ action: 'keep' });
    // The same when the update did not move the version.
    const same = { ...base, y: 2 };
    expect(run('delete', base, null, same, 'mismatch', p).decision).toEqual({ action: 'keep' });
  });
});

describe('compareValues', () => {
  const sign = (a: Parameters<typeof compareValues>[0], b: Parameters<typeof compareValues>[1], c: ColumnSpec) => Math.sign(compareValues(a, b, c));

  it('sorts null first', () => {
    expect(sign(null, null, col('v', 'int'))).toBe(0);
    expect(sign(null, 0, col('v', 'int'))).toBe(-1);
    expect(sign('1999-01-01', null, col('v', 'date'))).toBe(1);
  });

  it('orders numbers', () => {
    for (const t of ['int', 'float', 'double', 'year'] as const) {
      expect(sign(1, 2, col('v', t))).toBe(-1);
      expect(sign(2, 2, col('v', t))).toBe(0);
      expect(sign(-1.5, -2.5, col('v', t))).toBe(1);
    }
    expect(() => compareValues('1', 2, col('v', 'int'))).toThrow(/cannot order/);
  });

  it('orders bigint and 20-digit decimals exactly', () => {
    const big = col('v', 'bigint');
    expect(sign('18446744073709551615', '18446744073709551614', big)).toBe(1);
    expect(sign('9007199254740993', '9007199254740992', big)).toBe(1); // equal as doubles
    expect(sign('-9223372036854775808', '9223372036854775807', big)).toBe(-1);
    expect(sign(5, '6', big)).toBe(-1);
    const dec = col('v', 'decimal');
    expect(sign('12345678901234567890.12', '12345678901234567890.11', dec)).toBe(1);
    expect(sign('0.00000000000000000001', '0.00000000000000000002', dec)).toBe(-1);
    expect(sign('1.50', '1.5', dec)).toBe(0);
    expect(sign('-12345678901234567890', '-12345678901234567891', dec)).toBe(1);
  });

  it('orders dates, datetime(6) and timestamps as text', () => {
    expect(sign('2024-01-02', '2024-01-10', col('v', 'date'))).toBe(-1);
    const dt6 = col('v', 'datetime', { fsp: 6 });
    expect(sign('2024-01-01 00:00:00.000001', '2024-01-01 00:00:00.000002', dt6)).toBe(-1);
    expect(sign('2024-01-01 00:00:00.999999', '2024-01-01 00:00:01.000000', dt6)).toBe(-1);
    expect(sign('2024-01-01 00:00:00.500000', '2024-01-01 00:00:00.500000', dt6)).toBe(0);
    expect(sign('2024-12-31 23:59:59.999999', '2024-01-01 00:00:00.000000', col('v', 'timestamp', { fsp: 6 }))).toBe(1);
    // Another fsp still compares right.
    expect(sign('2024-01-01 00:00:05', '2024-01-01 00:00:05.000000', dt6)).toBe(0);
    expect(sign('2024-01-01 00:00:05.5', '2024-01-01 00:00:05.250000', dt6)).toBe(1);
    expect(sign('2024-01-10 00:00:00', '2024-01-01 00:00:00.5', dt6)).toBe(1);
  });

  it('orders times by sign and magnitude', () => {
    const t = col('v', 'time', { fsp: 6 });
    expect(sign('-01:00:00', '00:00:00', t)).toBe(-1);
    expect(sign('-02:00:00', '-01:00:00', t)).toBe(-1);
    expect(sign('100:00:00', '99:00:00', t)).toBe(1);
    expect(sign('12:00:00.000001', '12:00:00', t)).toBe(1);
    expect(sign('-00:00:00', '00:00:00.000000', t)).toBe(0);
  });

  it('throws for types without an order', () => {
    for (const type of ['string', 'binary', 'json', 'enum', 'set', 'bit'] as const) {
      expect(() => compareValues('a', 'b', col('v', type))).toThrow(/has no order/);
    }
    expect(() => compareValues(Buffer.from('a'), '2024-01-01', col('v', 'date'))).toThrow(/cannot order binary/);
  });
});

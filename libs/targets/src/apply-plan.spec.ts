import { ColumnSpec, keyHash, Row, RowChange, TargetTableSpec } from '@tributary/model';
import { chunk, claimedPlan, guardPlan, planBatch, StoredVersion } from './apply-plan';

const column = (name: string): ColumnSpec => ({
  name, type: 'int', dataType: 'int', columnType: 'int(11)', nullable: name !== 'id',
  unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null,
});
const table: TargetTableSpec = { name: 't', columns: [column('id'), column('v')], key: ['id'] };
const hash = (id: number) => keyHash('t', ['id'], { id });

const insert = (seq: number, id: number, v = seq): RowChange => ({ seq, op: 'insert', key: { id }, before: null, after: { id, v } });
const update = (seq: number, from: Row, to: Row): RowChange => ({ seq, op: 'update', key: { id: to.id }, before: from, after: to });
const remove = (seq: number, id: number): RowChange => ({ seq, op: 'delete', key: { id }, before: { id, v: 0 }, after: null });

describe('planBatch', () => {
  it('keeps only the last change of each key, in seq order, whatever order it was given in', () => {
    const { writes, invalid } = planBatch(table, [insert(3, 1, 30), insert(1, 1, 10), insert(2, 2), remove(4, 2), insert(5, 3)]);
    expect(invalid).toEqual([]);
    expect(writes.map((w) => [w.kind, w.seq, w.key.id, w.row?.v ?? null])).toEqual([
      ['upsert', 3, 1, 30],
      ['delete', 4, 2, null],
      ['upsert', 5, 3, 5],
    ]);
    expect(writes[0].keyHash).toBe(hash(1));
  });

  it('turns an update that moves the key into a delete of the old key and an upsert of the new, same seq', () => {
    const change = update(7, { id: 1, v: 1 }, { id: 9, v: 1 });
    const { writes } = planBatch(table, [change]);
    expect(writes.map((w) => [w.kind, w.seq, w.keyHash, w.change])).toEqual([
      ['delete', 7, hash(1), change],
      ['upsert', 7, hash(9), change],
    ]);
  });

  it('lets a later change of the old key win over the key move', () => {
    const { writes } = planBatch(table, [update(1, { id: 1, v: 0 }, { id: 2, v: 0 }), update(2, { id: 2, v: 0 }, { id: 1, v: 5 })]);
    expect(writes.map((w) => [w.kind, w.seq, w.key.id])).toEqual([
      ['delete', 2, 2],
      ['upsert', 2, 1],
    ]);
  });

  it('refuses changes that cannot name a row and plans the rest', () => {
    const noAfter: RowChange = { seq: 1, op: 'insert', key: { id: 1 }, before: null, after: null };
    const noKey: RowChange = { seq: 2, op: 'insert', key: {}, before: null, after: { v: 1 } };
    const { writes, invalid } = planBatch(table, [noAfter, noKey, insert(3, 3)]);
    expect(invalid.map((r) => [r.change.seq, r.code])).toEqual([[1, null], [2, null]]);
    expect(invalid[1].reason).toMatch(/key column id/);
    expect(writes.map((w) => w.seq)).toEqual([3]);
  });
});

describe('guardPlan', () => {
  const stored = (entries: [number, StoredVersion][]) => new Map(entries.map(([id, v]) => [hash(id), v]));

  it('writes only changes newer than the stored version, deletes first, then upserts by seq', () => {
    const { writes } = planBatch(table, [insert(5, 1), insert(6, 2), remove(8, 3), insert(9, 4)]);
    const guarded = guardPlan(writes, stored([[1, { seq: 7, deleted: false }], [2, { seq: 6, deleted: false }], [4, { seq: 2, deleted: false }]]));
    expect(guarded.skipped.map((w) => w.seq)).toEqual([5, 6]);
    expect(guarded.writes.map((w) => [w.kind, w.seq])).toEqual([['delete', 8], ['upsert', 9]]);
  });

  it('does not resurrect: a newer tombstone blocks an older insert', () => {
    const { writes } = planBatch(table, [insert(8, 1)]);
    const guarded = guardPlan(writes, stored([[1, { seq: 10, deleted: true }]]));
    expect(guarded.writes).toEqual([]);
    expect(guarded.skipped).toHaveLength(1);
  });

  it('with reapply, lets a write at exactly the stored seq through and still skips older ones', () => {
    const { writes } = planBatch(table, [insert(5, 1), insert(6, 2), remove(7, 3)]);
    const versions = stored([[1, { seq: 5, deleted: false }], [2, { seq: 9, deleted: false }], [3, { seq: 7, deleted: true }]]);
    expect(guardPlan(writes, versions).writes).toEqual([]);
    const guarded = guardPlan(writes, versions, { reapply: true });
    expect(guarded.writes.map((w) => [w.kind, w.seq])).toEqual([['delete', 7], ['upsert', 5]]);
    expect(guarded.skipped.map((w) => w.seq)).toEqual([6]);
  });

  it('lets a newer insert through after a tombstone', () => {
    const { writes } = planBatch(table, [insert(11, 1)]);
    expect(guardPlan(writes, stored([[1, { seq: 10, deleted: true }]])).writes).toHaveLength(1);
  });
});

describe('planBatch with binary keys', () => {
  const bin: TargetTableSpec = { name: 'b', columns: [{ ...column('id'), type: 'binary' }, column('v')], key: ['id'] };
  const change = (seq: number, from: Buffer, to: Buffer): RowChange => ({
    seq, op: 'update', key: { id: to }, before: { id: from, v: 0 }, after: { id: to, v: seq },
  });

  it('sees an update with equal key bytes (distinct Buffers) as staying, and different bytes as a move', () => {
    expect(planBatch(bin, [change(1, Buffer.from('ab'), Buffer.from('ab'))]).writes.map((w) => w.kind)).toEqual(['upsert']);
    const moved = planBatch(bin, [change(2, Buffer.from('ab'), Buffer.from('ac'))]).writes;
    expect(moved.map((w) => [w.kind, w.keyHash])).toEqual([
      ['delete', keyHash('b', ['id'], { id: Buffer.from('ab') })],
      ['upsert', keyHash('b', ['id'], { id: Buffer.from('ac') })],
    ]);
  });
});

describe('claimedPlan', () => {
  it('writes the keys the target says won, deletes first, then upserts by seq, and skips the rest', () => {
    const { writes } = planBatch(table, [insert(5, 1), insert(6, 2), remove(8, 3), insert(9, 4), remove(10, 5)]);
    const guarded = claimedPlan(writes, new Set([hash(2), hash(3), hash(4)]));
    expect(guarded.writes.map((w) => [w.kind, w.seq])).toEqual([['delete', 8], ['upsert', 6], ['upsert', 9]]);
    expect(guarded.skipped.map((w) => w.seq)).toEqual([5, 10]);
  });

  it('agrees with guardPlan for the same stored versions', () => {
    const { writes } = planBatch(table, [insert(5, 1), insert(6, 2), remove(7, 3), insert(8, 4)]);
    const versions = new Map<string, StoredVersion>([[hash(1), { seq: 5, deleted: false }], [hash(2), { seq: 9, deleted: false }], [hash(3), { seq: 3, deleted: true }]]);
    for (const reapply of [false, true]) {
      const expected = guardPlan(writes, versions, { reapply });
      // What the claim statement's WHERE (seq < incoming, or <= with reapply) lets through.
      const won = writes.filter((w) => {
        const v = versions.get(w.keyHash);
        return !v || (reapply ? v.seq <= w.seq : v.seq < w.seq);
      });
      expect(claimedPlan(writes, new Set(won.map((w) => w.keyHash)))).toEqual(expected);
    }
  });
});

describe('chunk', () => {
  it('splits into bounded chunks and keeps order', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
  });
});

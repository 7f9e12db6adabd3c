import { ColumnSpec, keyHash, Row } from '@tributary/model';
import { chunk, guardPlan, planBatch, StoredVersion } from './apply-plan';
import { RowChange, TargetTableSpec } from './target';

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

describe('chunk', () => {
  it('splits into bounded chunks and keeps order', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
  });
});

import { Row } from '@tributary/model';
import { applyFilter, FilterableChange } from './index';

const matches = (row: Row) => row.region === 'EU';
const eu = (id: number) => ({ id, region: 'EU' });
const us = (id: number) => ({ id, region: 'US' });
const change = (op: FilterableChange['op'], before: Row | null, after: Row | null): FilterableChange => ({
  seq: 1, op, key: { id: ((after ?? before) as Row).id }, before, after,
});

describe('applyFilter', () => {
  it.each<[string, FilterableChange, Partial<FilterableChange> | null]>([
    ['insert that matches', change('insert', null, eu(1)), { op: 'insert' }],
    ['insert that does not match', change('insert', null, us(1)), null],
    ['delete of a matching row', change('delete', eu(1), null), { op: 'delete' }],
    ['delete of a row that never matched', change('delete', us(1), null), null],
    ['update inside the filter', change('update', eu(1), eu(1)), { op: 'update' }],
    ['update moving in', change('update', us(1), eu(1)), { op: 'insert', before: null, key: { id: 1 } }],
    ['update moving out', change('update', eu(1), us(1)), { op: 'delete', after: null, key: { id: 1 } }],
    ['update outside the filter', change('update', us(1), us(1)), null],
    ['key change moving out deletes the old key', change('update', eu(1), us(2)), { op: 'delete', key: { id: 1 } }],
    ['key change moving in inserts the new key', change('update', us(1), eu(2)), { op: 'insert', key: { id: 2 } }],
    ['key change inside keeps the update (the target moves the key)', change('update', eu(1), eu(2)), { op: 'update', key: { id: 2 } }],
  ])('%s', (_name, input, expected) => {
    const result = applyFilter(input, matches, ['id']);
    if (expected === null) expect(result).toBeNull();
    else expect(result).toMatchObject(expected);
  });
});

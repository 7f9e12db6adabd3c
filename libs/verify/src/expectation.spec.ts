import { RouteRecord } from '@tributary/control';
import { TableSchema } from '@tributary/model';
import { changeDependentColumns } from '@tributary/replication';
import { routeExpectation } from './expectation';
import { canonicalRow } from './normalise';
import { column as col } from '@tributary/testing/fixtures';

const schema: TableSchema = {
  table: 'orders',
  columns: [col('shop', 'string'), col('id', 'int'), col('region', 'string'), col('secret', 'string')],
  key: ['shop', 'id'],
  keyKind: 'primary',
  hash: 'h1',
};
const route: RouteRecord = {
  id: 'r', sourceId: 'src', table: 'orders', targetId: 'pg', targetTable: 'eu_orders', enabled: true,
  filter: "region = 'EU'",
  mapping: {
    exclude: ['secret'],
    rename: { id: 'order_id', shop: 'store' },
    computed: [
      { name: 'origin_db', value: 'source' },
      { name: 'tbl', value: 'table' },
      { name: 'version', value: 'seq' },
      { name: 'changed_at', value: 'change_ts' },
      { name: 'last_op', value: 'op' },
      { name: 'tenant', value: { constant: 7 } },
    ],
  },
};

describe('routeExpectation', () => {
  const expectation = routeExpectation(route, schema);

  it('turns a source row into the target row the worker would write (filter, mapping, computed columns)', () => {
    const expected = expectation.expected({ shop: 'a', id: 1, region: 'EU', secret: 's' });
    expect(expected).toMatchObject({ store: 'a', order_id: 1, region: 'EU', origin_db: 'src', tbl: 'orders', tenant: '7' });
    expect(expected).not.toHaveProperty('secret');
  });

  it('expects nothing at the target for a row the filter keeps out', () => {
    expect(expectation.expected({ shop: 'a', id: 2, region: 'US', secret: null })).toBeNull();
  });

  it('does not compare columns that depend on the change that wrote the row, but compares source, table and constants', () => {
    expect([...expectation.ignored].sort()).toEqual(['changed_at', 'last_op', 'version']);
    expect(expectation.comparison.columns).toEqual(['store', 'order_id', 'region', 'origin_db', 'tbl', 'tenant']);
    const expected = expectation.expected({ shop: 'a', id: 1, region: 'EU', secret: 's' })!;
    const atTarget = { ...expected, version: '912', changed_at: '2020-01-01 00:00:00.000000', last_op: 'update' };
    expect(canonicalRow(expectation.comparison, atTarget)).toBe(canonicalRow(expectation.comparison, expected));
    expect(canonicalRow(expectation.comparison, { ...atTarget, tenant: '8' })).not.toBe(canonicalRow(expectation.comparison, expected));
  });

  it('maps keys both ways by position, renamed columns included', () => {
    expect(expectation.spec.key).toEqual(['store', 'order_id']);
    expect(expectation.sourceKeyOf({ store: 'b', order_id: 5, region: 'x' })).toEqual({ shop: 'b', id: 5 });
    expect(expectation.targetKeyOf({ shop: 'b', id: 5, region: 'x', secret: null })).toEqual({ store: 'b', order_id: 5 });
  });

  it('is the identity for a route without filter or mapping', () => {
    const plain = routeExpectation({ ...route, filter: null, mapping: null }, schema);
    const row = { shop: 'a', id: 1, region: 'US', secret: 's' };
    expect(plain.expected(row)).toEqual(row);
    expect(plain.ignored.size).toBe(0);
    expect(changeDependentColumns(null).size).toBe(0);
  });

  it('keys target rows by the computed key columns too (fan-in: a source column in the key)', () => {
    const fanIn = routeExpectation({ ...route, filter: null, mapping: { computed: [{ name: 'origin_db', value: 'source', key: true }] } }, schema);
    expect(fanIn.spec.key).toEqual(['shop', 'id', 'origin_db']);
    expect(fanIn.targetKeyOf({ shop: 'a', id: 1, region: 'EU' })).toEqual({ shop: 'a', id: 1, origin_db: 'src' });
    expect(fanIn.sourceKeyOf({ shop: 'a', id: 1, origin_db: 'src', region: 'EU' })).toEqual({ shop: 'a', id: 1 });
    expect(fanIn.expected({ shop: 'a', id: 1, region: 'EU', secret: 's' })).toMatchObject({ origin_db: 'src' });
  });
});

import { RowChange, TableSchema, WireChange } from '@tributary/model';
import { RouteConfigError, routeConfigVersion, routePlan, RouteRules } from './route-plan';
import { column as col } from '@tributary/testing/fixtures';

const schema: TableSchema = {
  table: 'orders', columns: [col('id', 'int'), col('region', 'string'), col('secret', 'string')], key: ['id'], keyKind: 'primary', hash: 'h1',
};
const route: RouteRules = {
  id: 'r', table: 'orders', targetTable: 'eu_orders',
  filter: "region = 'EU'", mapping: { exclude: ['secret'], rename: { id: 'order_id' }, computed: [{ name: 'op', value: 'op' }] },
};
const wire = { seq: 9, table: 'orders', ts: 1_700_000_000_000_000, origin: null } as WireChange;
const update = (from: string, to: string, id = 1): RowChange => ({
  seq: 9, op: 'update', key: { id }, before: { id: 1, region: from, secret: 's' }, after: { id, region: to, secret: 's' },
});

describe('routePlan', () => {
  it('writes the mapped table', () => {
    expect(routePlan(route, schema).spec).toEqual({
      name: 'eu_orders', key: ['order_id'], columns: [expect.objectContaining({ name: 'order_id' }), expect.objectContaining({ name: 'region' }), expect.objectContaining({ name: 'op' })],
    });
  });

  it('filters with move semantics, then maps the images and the key', () => {
    const plan = routePlan(route, schema);
    expect(plan.transform(wire, update('US', 'US'), 'shop')).toBeNull();
    expect(plan.transform(wire, update('US', 'EU', 2), 'shop')).toEqual({
      seq: 9, op: 'insert', key: { order_id: 2 }, before: null, after: { order_id: 2, region: 'EU', op: 'insert' },
    });
    expect(plan.transform(wire, update('EU', 'US', 2), 'shop')).toEqual({
      seq: 9, op: 'delete', key: { order_id: 1 }, before: { order_id: 1, region: 'EU', op: 'delete' }, after: null,
    });
  });

  it('applies copy records as "the source row is now this": kept if it matches, deleted at the target if not', () => {
    const plan = routePlan(route, schema);
    const copy = { ...wire, origin: 'tributary-copy:r' } as WireChange;
    const row = (region: string): RowChange => ({ seq: 9, op: 'insert', key: { id: 3 }, before: null, after: { id: 3, region, secret: 's' } });
    expect(plan.transform(copy, row('EU'), 'shop')).toEqual({
      seq: 9, op: 'insert', key: { order_id: 3 }, before: null, after: { order_id: 3, region: 'EU', op: 'insert' },
    });
    expect(plan.transform(copy, row('US'), 'shop')).toEqual({
      seq: 9, op: 'delete', key: { order_id: 3 }, before: { order_id: 3, region: 'US', op: 'delete' }, after: null,
    });
    // A copy delete (the source has no such row) deletes even though no image can match the filter.
    const gone: RowChange = { seq: 9, op: 'delete', key: { id: 4 }, before: null, after: null };
    expect(plan.transform(copy, gone, 'shop')).toEqual({ seq: 9, op: 'delete', key: { order_id: 4 }, before: null, after: null });
    // An ordinary delete of a row that never matched is still dropped.
    expect(plan.transform(wire, gone, 'shop')).toBeNull();
  });

  it('passes changes through untouched without filter and mapping', () => {
    const change = update('US', 'EU');
    const plain = routePlan({ ...route, filter: null, mapping: null }, schema);
    expect(plain.transform(wire, change, 'shop')).toBe(change);
    expect(plain.spec).toEqual({ name: 'eu_orders', columns: schema.columns, key: ['id'] });
  });

  it('refuses a filter the schema no longer fits, naming route, filter and schema', () => {
    const dropped = { ...schema, columns: schema.columns.filter((c) => c.name !== 'region'), hash: 'h2' };
    expect(() => routePlan(route, dropped)).toThrow(RouteConfigError);
    expect(() => routePlan(route, dropped)).toThrow(/route r: the filter does not fit table orders as captured \(schema h2\): unknown column "region"/);
  });

  it('versions the configuration so a changed filter or mapping is planned and ensured again', () => {
    expect(routeConfigVersion(route)).not.toBe(routeConfigVersion({ ...route, filter: "region = 'UK'" }));
    // A stored route has more than its rules (RouteRecord): pausing it plans nothing anew.
    const paused = { ...route, sourceId: 'shop', targetId: 'pg', enabled: false };
    expect(routeConfigVersion(route)).toBe(routeConfigVersion(paused));
  });
});

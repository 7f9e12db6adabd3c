import { RouteRecord } from '@tributary/control';
import { sourceVersioningByRoute } from './source-versioning';

const sourceVersioningOf = (route: RouteRecord, routes: RouteRecord[]) => sourceVersioningByRoute(routes).get(route.id);

const route = (id: string, sourceId: string, over: Partial<RouteRecord> = {}): RouteRecord => ({
  id, sourceId, table: 'orders', targetId: 'pg', targetTable: 'all_orders', enabled: true, createdAt: new Date(Date.UTC(2026, 0, Number(id.slice(1)))), ...over,
});

describe('sourceVersioningByRoute', () => {
  it('keeps versions per source only for a table several sources write with shared keys, the first route\'s source the legacy one', () => {
    const one = [route('r1', 'a'), route('r2', 'a', { table: 'refunds' })];
    expect(sourceVersioningOf(one[0], one)).toBeUndefined();
    const shared = [route('r2', 'b'), route('r1', 'a'), route('r3', 'c', { targetTable: 'elsewhere' })];
    expect(sourceVersioningOf(shared[0], shared)).toEqual({ source: 'b', legacySource: 'a' });
    expect(sourceVersioningOf(shared[1], shared)).toEqual({ source: 'a', legacySource: 'a' });
    expect(sourceVersioningOf(shared[2], shared)).toBeUndefined();
    const keyed = { computed: [{ name: 'shop', value: 'source', key: true }] };
    const apart = [route('r1', 'a', { mapping: keyed }), route('r2', 'b', { mapping: keyed })];
    expect(sourceVersioningOf(apart[1], apart)).toBeUndefined();
  });
});

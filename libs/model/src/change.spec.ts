import { copyOrigin, echoOriginOf, routeWants } from '@tributary/model';

describe('routeWants', () => {
  const route = { routeId: 'a-to-b', table: 'kv', echoOrigin: echoOriginOf('b') };
  const row = (origin: string | null, table = 'kv') => ({ table, origin });

  it("takes its table's changes but its own target's echoes and other routes' copies", () => {
    expect(routeWants(row(null), route)).toBe(true);
    expect(routeWants(row(echoOriginOf('c')), route)).toBe(true); // applied at the source from another node: passed on
    expect(routeWants(row(echoOriginOf('b')), route)).toBe(false);
    expect(routeWants(row(copyOrigin('a-to-b')), route)).toBe(true);
    expect(routeWants(row(copyOrigin('other')), route)).toBe(false);
    expect(routeWants(row(null, 'other'), route)).toBe(false);
  });

  it("passes on only the application's own writes (and its own copies) when local-only", () => {
    const local = { ...route, localOnly: true };
    expect(routeWants(row(null), local)).toBe(true);
    expect(routeWants(row(echoOriginOf('c')), local)).toBe(false);
    expect(routeWants(row(echoOriginOf('b')), local)).toBe(false);
    expect(routeWants(row(copyOrigin('a-to-b')), local)).toBe(true);
  });
});

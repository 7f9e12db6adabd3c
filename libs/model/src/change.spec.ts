import { copyOrigin, echoOriginOf, forwardedOrigin, originPath, routeWants } from '@tributary/model';

describe('routeWants', () => {
  const route = { routeId: 'a-to-b', table: 'kv', targetId: 'b' };
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

describe('origin paths (forwarding without loops)', () => {
  it('records where a change has been, the database that made it first', () => {
    expect(forwardedOrigin(null, 'a')).toBe(echoOriginOf('a'));
    expect(forwardedOrigin('tributary:a', 'b')).toBe('tributary:a,b');
    expect(forwardedOrigin('tributary:a,b', 'c')).toBe('tributary:a,b,c');
    expect(forwardedOrigin(copyOrigin('r'), 'a')).toBe('tributary:a');
    expect(originPath('tributary:a,b,c')).toEqual(['a', 'b', 'c']);
    expect(originPath(null)).toEqual([]);
    expect(originPath(copyOrigin('r'))).toEqual([]);
  });

  it('a ring a → b → c → a: a change goes round once and stops before the database that made it', () => {
    const toB = { routeId: 'a-b', table: 'kv', targetId: 'b' };
    const toC = { routeId: 'b-c', table: 'kv', targetId: 'c' };
    const toA = { routeId: 'c-a', table: 'kv', targetId: 'a' };
    expect(routeWants({ table: 'kv', origin: null }, toB)).toBe(true); // made at a
    const atB = forwardedOrigin(null, 'a');
    expect(routeWants({ table: 'kv', origin: atB }, toC)).toBe(true);
    const atC = forwardedOrigin(atB, 'b');
    expect(routeWants({ table: 'kv', origin: atC }, toA)).toBe(false);
  });

  it('a star: a leaf\'s change reaches the other leaves through the hub and never returns to the hub', () => {
    const atHub = forwardedOrigin(null, 'leaf1');
    expect(routeWants({ table: 'kv', origin: atHub }, { routeId: 'h-1', table: 'kv', targetId: 'leaf1' })).toBe(false);
    expect(routeWants({ table: 'kv', origin: atHub }, { routeId: 'h-2', table: 'kv', targetId: 'leaf2' })).toBe(true);
    const atLeaf2 = forwardedOrigin(atHub, 'hub');
    expect(routeWants({ table: 'kv', origin: atLeaf2 }, { routeId: '2-h', table: 'kv', targetId: 'hub' })).toBe(false);
  });
});

import { ColumnSpec, copyOrigin, echoOriginOf, forwardedOrigin, originPath, routeWants, tableNameSpans, withStepDefaults } from '@tributary/model';

describe('routeWants', () => {
  const route = { routeId: 'a-to-b', table: 'kv', targetId: 'b' };
  const row = (origin: string | null, table = 'kv') => ({ table, seq: 1, origin });

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

describe('table names by outbox position (table renames)', () => {
  const at = (from: string, to: string, seq: number) => ({ from, to, at: seq });
  const wants = (names: ReturnType<typeof tableNameSpans>, table: string, seq: number) =>
    routeWants({ table, seq, origin: null }, { routeId: 'r', table: names?.[0].table ?? table, targetId: 't', ...(names ? { names } : {}) });

  it('is the name alone for a table never renamed', () => {
    expect(tableNameSpans('orders', [at('a', 'b', 5)])).toBeNull();
  });

  it('follows a chain of renames back to the first name, each name for its stretch', () => {
    const names = tableNameSpans('sales', [at('orders', 'purchases', 100), at('purchases', 'sales', 200)]);
    expect(names).toEqual([
      { table: 'sales', after: 200, through: null },
      { table: 'purchases', after: 100, through: 200 },
      { table: 'orders', after: 0, through: 100 },
    ]);
    expect(wants(names, 'orders', 100)).toBe(true);
    expect(wants(names, 'orders', 101)).toBe(false); // another table that took the freed name
    expect(wants(names, 'purchases', 150)).toBe(true);
    expect(wants(names, 'purchases', 201)).toBe(false);
    expect(wants(names, 'sales', 150)).toBe(false);
    expect(wants(names, 'sales', 201)).toBe(true);
  });

  it('gives a table that takes a freed name only the rows written after it took it', () => {
    const renames = [at('orders', 'orders_old', 100)];
    const names = tableNameSpans('orders', renames);
    expect(names).toEqual([{ table: 'orders', after: 100, through: null }]);
    expect(wants(names, 'orders', 99)).toBe(false);
    expect(wants(names, 'orders', 101)).toBe(true);
    expect(wants(tableNameSpans('orders_old', renames), 'orders', 99)).toBe(true);
  });

  it('tells two tables apart through a swap by way of a temporary name', () => {
    const renames = [at('a', 'tmp', 100), at('b', 'a', 101), at('tmp', 'b', 102)];
    expect(tableNameSpans('a', renames)).toEqual([
      { table: 'a', after: 101, through: null },
      { table: 'b', after: 0, through: 101 },
    ]);
    expect(tableNameSpans('b', renames)).toEqual([
      { table: 'b', after: 102, through: null },
      { table: 'tmp', after: 100, through: 102 },
      { table: 'a', after: 0, through: 100 },
    ]);
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
    expect(routeWants({ table: 'kv', seq: 1, origin: null }, toB)).toBe(true); // made at a
    const atB = forwardedOrigin(null, 'a');
    expect(routeWants({ table: 'kv', seq: 1, origin: atB }, toC)).toBe(true);
    const atC = forwardedOrigin(atB, 'b');
    expect(routeWants({ table: 'kv', seq: 1, origin: atC }, toA)).toBe(false);
  });

  it('a star: a leaf\'s change reaches the other leaves through the hub and never returns to the hub', () => {
    const atHub = forwardedOrigin(null, 'leaf1');
    expect(routeWants({ table: 'kv', seq: 1, origin: atHub }, { routeId: 'h-1', table: 'kv', targetId: 'leaf1' })).toBe(false);
    expect(routeWants({ table: 'kv', seq: 1, origin: atHub }, { routeId: 'h-2', table: 'kv', targetId: 'leaf2' })).toBe(true);
    const atLeaf2 = forwardedOrigin(atHub, 'hub');
    expect(routeWants({ table: 'kv', seq: 1, origin: atLeaf2 }, { routeId: '2-h', table: 'kv', targetId: 'hub' })).toBe(false);
  });
});

describe('withStepDefaults', () => {
  const column = (name: string, over: Partial<ColumnSpec> = {}): ColumnSpec => ({
    name, type: 'string', dataType: 'varchar', columnType: 'varchar(9)', nullable: true, unsigned: false, length: 9, precision: null, scale: null, fsp: null, members: null, ...over,
  });

  it("gives each column the default its steps last left it, whatever the schema said", () => {
    const spec = {
      name: 't',
      key: ['a'],
      columns: [column('a', { default: { kind: 'value', value: 'old' } }), column('b', { default: { kind: 'value', value: 'x' } }), column('c')],
      steps: [
        { id: 1, dropped: [], renamed: [], defaults: [{ column: 'a', default: { kind: 'value' as const, value: 'mid' } }] },
        { id: 2, dropped: [], renamed: [], defaults: [{ column: 'a', default: { kind: 'now' as const } }, { column: 'b', default: null }] },
      ],
    };
    const out = withStepDefaults(spec);
    expect(out.columns.map((c) => [c.name, c.default ?? null])).toEqual([
      ['a', { kind: 'now' }],
      ['b', null],
      ['c', null],
    ]);
    expect('default' in out.columns[1]).toBe(false);
    const noDefaults = { ...spec, steps: [{ id: 3, dropped: ['c'], renamed: [] }] };
    expect(withStepDefaults(noDefaults)).toBe(noDefaults);
  });
});

import { parseCommand, runCli, USAGE } from './cli';
import { runAdopt, runAlter } from './schema-commands';
import { formatSchemaChange, RoutePlan, SchemaChangeAnswer } from './schema-report';

const routePlan = (over: Partial<RoutePlan>): RoutePlan => ({
  route: 'orders-pg', target: 'pg', targetKind: 'postgres', targetTable: 'orders', actions: ['add column note varchar(200) NULL'],
  routeChanges: [], resyncReasons: [], waits: null, resync: 'none', ...over,
});

const answer = (over: Partial<SchemaChangeAnswer>, routes: RoutePlan[] = [routePlan({})]): SchemaChangeAnswer => ({
  table: 'orders', schemaHash: '7b1c44e2aa', key: ['id'], keyKind: 'primary',
  columns: [{ name: 'id', type: 'int', columnType: 'int(11)', nullable: false }, { name: 'note', type: 'string', columnType: 'varchar(200)', nullable: true }],
  warnings: [], applied: true,
  plan: { fromHash: '3f2a9c0d1e', toHash: '7b1c44e2aa', changes: [{ kind: 'added', column: 'note', detail: 'varchar(200) NULL', exact: true }], routes },
  ...over,
});

/** A fake admin API that records each POST and answers it with `body`. */
function api(body: SchemaChangeAnswer) {
  const posted: Array<{ path: string; body: unknown }> = [];
  return {
    posted,
    post: async <T>(path: string, request: unknown) => {
      posted.push({ path, body: request });
      return { status: 200, body: body as T };
    },
  };
}

function io() {
  const out: string[] = [];
  return { out, io: { out: (text: string) => out.push(text) } };
}

const flags = { dryRun: false, resync: false, json: false };

describe('tributary alter, adopt', () => {
  it('parses alter with its clauses as one argument', () => {
    expect(parseCommand(['alter', 'shop', 'orders', 'ADD COLUMN note VARCHAR(200) NULL'])).toEqual({
      name: 'alter', source: 'shop', table: 'orders', alter: 'ADD COLUMN note VARCHAR(200) NULL', ...flags,
    });
    expect(parseCommand(['alter', 'shop', 'orders', ' DROP COLUMN note ', '--dry-run', '--resync', '--json'])).toEqual({
      name: 'alter', source: 'shop', table: 'orders', alter: 'DROP COLUMN note', dryRun: true, resync: true, json: true,
    });
    expect(() => parseCommand(['alter', 'shop'])).toThrow('alter needs a source and a table');
    expect(() => parseCommand(['alter', 'shop', 'orders'])).toThrow('alter needs what follows ALTER TABLE <table>');
    expect(() => parseCommand(['alter', 'shop', 'orders', '  '])).toThrow('alter needs what follows ALTER TABLE <table>');
    expect(() => parseCommand(['alter', 'shop', 'orders', 'ADD', 'COLUMN', 'note', 'TEXT'])).toThrow('alter takes the ALTER clauses as one quoted argument (unexpected argument "COLUMN")');
    expect(() => parseCommand(['alter', 'shop', 'orders', 'DROP COLUMN a', '--rename', 'a=b'])).toThrow('alter does not take --rename');
    expect(() => parseCommand(['alter', 'shop', 'orders', 'DROP COLUMN a', '--timeout', '5'])).toThrow('alter does not take --timeout');
  });

  it('parses adopt with repeated --rename OLD=NEW, and refuses a malformed or contradictory one', () => {
    expect(parseCommand(['adopt', 'shop', 'orders'])).toEqual({ name: 'adopt', source: 'shop', table: 'orders', renames: {}, ...flags });
    expect(parseCommand(['adopt', 'shop', 'orders', '--rename', 'title=label', '--rename= qty = quantity', '--dry-run'])).toEqual({
      name: 'adopt', source: 'shop', table: 'orders', renames: { title: 'label', qty: 'quantity' }, dryRun: true, resync: false, json: false,
    });
    for (const bad of ['title', 'title=', '=label', 'a=b=c', '=']) {
      expect(() => parseCommand(['adopt', 'shop', 'orders', '--rename', bad])).toThrow(`--rename takes OLD=NEW (two column names), not ${JSON.stringify(bad)}`);
    }
    expect(() => parseCommand(['adopt', 'shop', 'orders', '--rename', 'a=a'])).toThrow('--rename a=a renames nothing');
    expect(() => parseCommand(['adopt', 'shop', 'orders', '--rename', 'a=b', '--rename', 'a=c'])).toThrow('--rename gives a two new names');
    expect(() => parseCommand(['adopt', 'shop', 'orders', '--rename', 'a=c', '--rename', 'b=c'])).toThrow('--rename makes both a and b into c');
    expect(() => parseCommand(['adopt', 'shop', 'orders', '--rename'])).toThrow(/argument missing/);
    expect(() => parseCommand(['adopt', 'shop'])).toThrow('adopt needs a source and a table');
    expect(() => parseCommand(['adopt', 'shop', 'orders', 'ADD COLUMN x INT'])).toThrow('unexpected argument "ADD COLUMN x INT"');
    expect(() => parseCommand(['adopt', 'shop', 'orders', '--routes', 'a'])).toThrow('adopt does not take --routes');
  });

  it('refuses the new options on the other commands', () => {
    expect(() => parseCommand(['status', '--dry-run'])).toThrow('status does not take --dry-run');
    expect(() => parseCommand(['wait', 'shop', '1', '--target', 'pg', '--rename', 'a=b'])).toThrow('wait does not take --rename');
    expect(() => parseCommand(['verify', 'orders-pg', '--resync'])).toThrow('verify does not take --resync');
    expect(() => parseCommand(['resync', 'orders-pg', '--dry-run'])).toThrow('resync does not take --dry-run');
  });

  it('sends the clauses or renames, and a flag only when it is given', async () => {
    const alterPath = '/api/sources/shop/tables/orders/alter';
    const cases: Array<[Partial<typeof flags>, object]> = [
      [{}, {}],
      [{ dryRun: true }, { dryRun: true }],
      [{ resync: true }, { resync: true }],
      [{ dryRun: true, resync: true, json: true }, { dryRun: true, resync: true }],
    ];
    for (const [given, sent] of cases) {
      const alter = api(answer({}));
      await runAlter(alter, io().io, { source: 'shop', table: 'orders', alter: 'ADD COLUMN note VARCHAR(200) NULL', ...flags, ...given });
      expect(alter.posted).toEqual([{ path: alterPath, body: { alter: 'ADD COLUMN note VARCHAR(200) NULL', ...sent } }]);

      const adopt = api(answer({}));
      await runAdopt(adopt, io().io, { source: 'shop', table: 'orders', renames: {}, ...flags, ...given });
      expect(adopt.posted).toEqual([{ path: '/api/sources/shop/tables/orders/adopt', body: sent }]);
    }
    const renamed = api(answer({}));
    await runAdopt(renamed, io().io, { source: 'shop', table: 'orders', renames: { title: 'label' }, ...flags, resync: true });
    expect(renamed.posted[0].body).toEqual({ renames: { title: 'label' }, resync: true });

    const odd = api(answer({}));
    await runAlter(odd, io().io, { source: 'sh op', table: 'or/ders', alter: 'DROP COLUMN x', ...flags });
    expect(odd.posted[0].path).toBe('/api/sources/sh%20op/tables/or%2Fders/alter');
  });

  it('prints a dry run as a plan that changed nothing; exit 0 when every route follows', async () => {
    const planned = answer({ applied: false }, [routePlan({}), routePlan({ route: 'orders-redis', target: 'cache', targetKind: 'redis', targetTable: 'orders', actions: [] })]);
    const printed = io();
    expect(await runAlter(api(planned), printed.io, { source: 'shop', table: 'orders', alter: 'ADD COLUMN note VARCHAR(200) NULL', ...flags, dryRun: true })).toBe(0);
    expect(printed.out).toEqual([
      [
        'shop.orders: dry run: nothing changed',
        'schema 3f2a9c0d1e → 7b1c44e2aa, key id (primary)',
        'changes:',
        '  added  note  varchar(200) NULL',
        'routes:',
        '  orders-pg → pg.orders (postgres)',
        '    target:  add column note varchar(200) NULL',
        '    re-sync: not needed',
        '  orders-redis → cache.orders (redis)',
        '    target:  nothing to do',
        '    re-sync: not needed',
      ].join('\n'),
    ]);
  });

  it('prints an applied change with a route that needs a re-sync and one that will stop; exit 1', async () => {
    const applied = answer({ warnings: ['orders_audit is written by a cascade from orders and is not captured'] }, [
      routePlan({
        actions: ['rename column title to label', 'alter column amount type double precision'],
        routeChanges: ['mapping: rename title → heading becomes label → heading'],
        resyncReasons: ['amount: rows written before hold decimal(10,2) values, not the double the source now has'],
        resync: 'needed',
      }),
      routePlan({ route: 'eu-orders', actions: [], waits: 'its filter names the dropped column region', resync: 'none' }),
    ]);
    applied.plan.changes = [
      { kind: 'renamed', column: 'title', detail: 'title → label', exact: true },
      { kind: 'retyped', column: 'amount', detail: 'decimal(10,2) → double', exact: false },
      { kind: 'dropped', column: 'region', detail: 'varchar(8) NOT NULL', exact: true },
    ];
    const text = formatSchemaChange('shop', applied);
    expect(text.split('\n')).toEqual([
      'shop.orders: applied',
      'schema 3f2a9c0d1e → 7b1c44e2aa, key id (primary)',
      'warning: orders_audit is written by a cascade from orders and is not captured',
      'changes:',
      '  renamed  title   title → label',
      '  retyped  amount  decimal(10,2) → double  (not exact)',
      '  dropped  region  varchar(8) NOT NULL',
      'routes:',
      '  orders-pg → pg.orders (postgres)',
      '    target:  rename column title to label',
      '    target:  alter column amount type double precision',
      '    route:   mapping: rename title → heading becomes label → heading',
      '    re-sync: needed, not requested, because:',
      '      - amount: rows written before hold decimal(10,2) values, not the double the source now has',
      '      run: tributary resync orders-pg',
      '  eu-orders → pg.orders (postgres)',
      '    target:  nothing to do',
      '    re-sync: not needed',
      '    stops:   its filter names the dropped column region (until a person changes the route)',
      'needs a person: orders-pg needs a re-sync; eu-orders will stop until it is changed',
    ]);
    expect(await runAdopt(api(applied), io().io, { source: 'shop', table: 'orders', renames: { title: 'label' }, ...flags })).toBe(1);

    // The same plan as a dry run says how to ask for the re-sync with the change.
    expect(formatSchemaChange('shop', { ...applied, applied: false })).toContain('    re-sync: needed, not requested, because:\n      - amount: rows written before hold decimal(10,2) values, not the double the source now has\n      add --resync to have it re-synced with the change');
  });

  it('exit 0 once the needed re-sync is requested; 1 for a dry run that would leave a route waiting', async () => {
    const reason = 'amount: rows written before hold decimal(10,2) values';
    const requested = answer({}, [routePlan({ resyncReasons: [reason], resync: 'requested' })]);
    const printed = io();
    expect(await runAlter(api(requested), printed.io, { source: 'shop', table: 'orders', alter: 'MODIFY amount DOUBLE', ...flags, resync: true })).toBe(0);
    expect(printed.out[0]).toContain(`    re-sync: requested, because:\n      - ${reason}`);
    expect(printed.out[0]).not.toContain('needs a person');
    expect(formatSchemaChange('shop', { ...requested, applied: false })).toContain('    re-sync: would be requested, because:');

    const waiting = answer({ applied: false }, [routePlan({ waits: 'its filter names the dropped column region' })]);
    expect(await runAlter(api(waiting), io().io, { source: 'shop', table: 'orders', alter: 'DROP COLUMN region', ...flags, dryRun: true })).toBe(1);
  });

  it('says when there is nothing to change or carry', () => {
    const nothing = answer({ applied: false, plan: { fromHash: '3f2a9c0d1e', toHash: '3f2a9c0d1e', changes: [], routes: [] } });
    expect(formatSchemaChange('shop', nothing).split('\n')).toEqual([
      'shop.orders: dry run: nothing changed',
      'schema 3f2a9c0d1e (unchanged), key id (primary)',
      'changes: none',
      'routes: none replicate this table',
    ]);
  });

  it('prints a table rename: the new name, no column changes, each route reading on into its target table', () => {
    const route = routePlan({ actions: ['none: target table orders keeps its name and its rows'], routeChanges: ['reads source table purchases (was orders)'] });
    const renamed = answer({ table: 'purchases', plan: { fromHash: '3f2a9c0d1e', toHash: '3f2a9c0d1e', changes: [], routes: [route], tableRename: { from: 'orders', to: 'purchases' } } });
    const text = formatSchemaChange('shop', renamed);
    expect(text).toContain('shop.purchases: applied');
    expect(text).toContain('table renamed: orders → purchases (its changes flow on under the new name, no copy)');
    expect(text).toContain('column changes: none');
    expect(text).toContain('reads source table purchases (was orders)');
  });

  it('--json prints the answer as it came', async () => {
    const body = answer({}, [routePlan({ resync: 'needed', resyncReasons: ['x'] })]);
    const printed = io();
    expect(await runAdopt(api(body), printed.io, { source: 'shop', table: 'orders', renames: {}, ...flags, json: true })).toBe(1);
    expect(JSON.parse(printed.out[0])).toEqual(body);
  });

  describe('through runCli', () => {
    const env = { TRIBUTARY_ADMIN_URL: 'http://admin.test', ADMIN_TOKEN: 'secret' };
    const cli = () => {
      const out: string[] = [];
      const err: string[] = [];
      return { out, err, io: { out: (text: string) => out.push(text), err: (text: string) => err.push(text), progress: () => undefined, env } };
    };
    afterEach(() => jest.restoreAllMocks());

    it('posts with the token and exits 0 on a planned change', async () => {
      const fetch = jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify(answer({ applied: false })), { status: 200 }));
      const run = cli();
      expect(await runCli(['alter', 'shop', 'orders', 'ADD COLUMN note VARCHAR(200) NULL', '--dry-run'], run.io)).toBe(0);
      expect(fetch).toHaveBeenCalledWith('http://admin.test/api/sources/shop/tables/orders/alter', {
        method: 'POST',
        headers: { authorization: 'Bearer secret', 'content-type': 'application/json' },
        body: JSON.stringify({ alter: 'ADD COLUMN note VARCHAR(200) NULL', dryRun: true }),
      });
      expect(run.out[0]).toMatch(/^shop\.orders: dry run: nothing changed\n/);
    });

    it('exits 2 with the admin\'s message on a refusal or an unknown table, and with the usage on bad arguments', async () => {
      const refusal = { statusCode: 400, error: 'Bad Request', message: 'the ALTER would leave orders without a usable key', details: [] };
      jest.spyOn(globalThis, 'fetch').mockResolvedValueOnce(new Response(JSON.stringify(refusal), { status: 400 }));
      const refused = cli();
      expect(await runCli(['alter', 'shop', 'orders', 'DROP PRIMARY KEY'], refused.io)).toBe(2);
      expect(refused.err).toEqual(['tributary: 400 from the admin API: the ALTER would leave orders without a usable key']);
      expect(refused.out).toEqual([]);

      jest.spyOn(globalThis, 'fetch').mockResolvedValueOnce(new Response(JSON.stringify({ statusCode: 404, message: 'no table "ordres" at source shop' }), { status: 404 }));
      const unknown = cli();
      expect(await runCli(['adopt', 'shop', 'ordres'], unknown.io)).toBe(2);
      expect(unknown.err).toEqual(['tributary: 404 from the admin API: no table "ordres" at source shop']);

      const bad = cli();
      expect(await runCli(['adopt', 'shop', 'orders', '--rename', 'title'], bad.io)).toBe(2);
      expect(bad.err).toEqual(['tributary: --rename takes OLD=NEW (two column names), not "title"', USAGE]);
    });
  });
});

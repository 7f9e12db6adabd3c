import { VerifyRunRecord } from '@tributary/control';
import { parseCommand } from './cli';
import { formatRun } from './report';

const run = (changes: Partial<VerifyRunRecord>): VerifyRunRecord => ({
  id: 7, routeId: 'orders-pg', kind: 'verify', status: 'differs', requestedBy: 'cli:me',
  sourceRows: 10, targetRows: 10, missing: 1, extra: 1, different: 1, repaired: 0,
  sample: {
    settled: true,
    ignoredColumns: ['changed_at'],
    differences: [
      { kind: 'missing', key: { id: 2 }, expected: { id: 2, v: 'b' }, actual: null },
      { kind: 'extra', key: { id: 99 }, expected: null, actual: { id: 99, v: 'z' } },
      { kind: 'different', key: { id: 3 }, expected: { id: 3, v: 'c' }, actual: { id: 3, v: 'hacked' }, columns: ['v'] },
    ],
  },
  error: null, startedAt: new Date(0), finishedAt: new Date(0), ...changes,
});

describe('tributary CLI', () => {
  it('parses verify <route> [--repair] [--json]', () => {
    expect(parseCommand(['verify', 'orders-pg'])).toEqual({ name: 'verify', route: 'orders-pg', repair: false, json: false });
    expect(parseCommand(['verify', 'orders-pg', '--repair', '--json'])).toEqual({ name: 'verify', route: 'orders-pg', repair: true, json: true });
    expect(parseCommand(['resync', 'orders-pg'])).toEqual({ name: 'resync', route: 'orders-pg', wait: true });
    expect(parseCommand(['resync', 'orders-pg', '--no-wait'])).toEqual({ name: 'resync', route: 'orders-pg', wait: false });
    expect(() => parseCommand(['resync', 'orders-pg', '--repair'])).toThrow('resync takes only --no-wait');
    expect(() => parseCommand([])).toThrow('no command given');
    expect(() => parseCommand(['check', 'x'])).toThrow('unknown command "check"');
    expect(() => parseCommand(['verify'])).toThrow('verify needs a route id');
    expect(() => parseCommand(['verify', 'a', 'b'])).toThrow('unexpected argument "b"');
    expect(() => parseCommand(['verify', 'a', '--force'])).toThrow(/force/);
  });

  it('reports counts and the first differences readably', () => {
    const text = formatRun(run({}));
    expect(text).toContain('route orders-pg: target differs from the source (verify run #7)');
    expect(text).toContain('missing 1, extra 1, different 1');
    expect(text).toContain('missing   {"id":2}');
    expect(text).toContain('extra     {"id":99}');
    expect(text).toContain('different {"id":3}: v "hacked" (expected "c")');
    expect(text).toContain('not compared (set by the change that wrote the row): changed_at');
    expect(text).not.toContain('may be lag');
  });

  it('says when differences may be lag, and why a run failed', () => {
    expect(formatRun(run({ sample: { settled: false, differences: [] } }))).toContain('some may be lag');
    expect(formatRun(run({ status: 'failed', error: 'no route "x"' }))).toContain('error: no route "x"');
    expect(formatRun(run({ kind: 'repair', status: 'repaired', repaired: 3 }))).toContain('repaired; the target now matches the source');
    const partial = formatRun(run({ kind: 'repair', status: 'differs', repaired: 2, sample: { resent: 3, after: { missing: 0, extra: 0, different: 1, settled: true, differences: [] } } }));
    expect(partial).toContain('still differs after the repair');
    expect(partial).toContain('re-sent 3 rows through the route; 2 differences fixed');
  });
});

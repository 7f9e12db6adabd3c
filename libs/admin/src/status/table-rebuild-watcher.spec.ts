import { VerifyRunRecord } from '@tributary/control';
import { innodbName } from '@tributary/capture';
import { needsRepair } from './table-rebuild-watcher';

const at = (iso: string) => new Date(iso);
const run = (over: Partial<VerifyRunRecord>): VerifyRunRecord => ({
  id: 1, routeId: 'r', kind: 'repair', status: 'repaired', requestedBy: null, sourceRows: 0, targetRows: 0, missing: 0, extra: 0, different: 0,
  repaired: 0, sample: null, error: null, startedAt: at('2026-12-06T10:00:05Z'), finishedAt: at('2026-12-06T10:00:06Z'), ...over,
});

describe('needsRepair (a route of a truncated or rebuilt table)', () => {
  const rebuiltAt = at('2026-12-06T10:00:00Z');
  const now = at('2026-12-06T10:05:00Z').getTime();

  it('asks for a repair until one started after the rebuild, and again after a failed one a minute old', () => {
    expect(needsRepair([], rebuiltAt, now)).toBe(true);
    expect(needsRepair([run({ startedAt: at('2026-12-06T09:59:00Z') })], rebuiltAt, now)).toBe(true); // before the truncate
    expect(needsRepair([run({ kind: 'verify' })], rebuiltAt, now)).toBe(true); // a verify repairs nothing
    expect(needsRepair([run({})], rebuiltAt, now)).toBe(false);
    expect(needsRepair([run({ status: 'running', finishedAt: null })], rebuiltAt, now)).toBe(false);
    expect(needsRepair([run({ status: 'failed', finishedAt: at('2026-12-06T10:04:30Z') })], rebuiltAt, now)).toBe(false);
    expect(needsRepair([run({ status: 'failed', finishedAt: at('2026-12-06T10:03:00Z') })], rebuiltAt, now)).toBe(true);
  });

  it('names a table as InnoDB does', () => {
    expect(innodbName('trunc-probe', 't$x')).toBe('trunc@002dprobe/t@0024x');
    expect(innodbName('test', 'orders_2')).toBe('test/orders_2');
  });
});

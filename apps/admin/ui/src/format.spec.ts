import type { RouteStatus } from './api';
import { activeCopy, byUrgency, durationText, lagText, rateText, stateTone, summaryText, verifyText } from './format';

const route = (name: string, state: RouteStatus['state'], open = 0): RouteStatus =>
  ({ route: name, state, deadLetters: { open, retrying: 0 } }) as RouteStatus;

describe('status page presentation', () => {
  it('colours states by whether they want a person', () => {
    expect(['running', 'lagging', 'paused', 'failing', 'stalled'].map((s) => stateTone(s as RouteStatus['state']))).toEqual(['ok', 'warn', 'idle', 'bad', 'bad']);
  });

  it('says lag in changes and time, a capped count as a floor, and an unreadable source as unknown', () => {
    expect(lagText({ changes: 1234, seconds: 3.25, capped: false, error: null })).toBe('1,234 changes · 3.3 s');
    expect(lagText({ changes: 1, seconds: null, capped: false, error: null })).toBe('1 change');
    expect(lagText({ changes: 100000, seconds: 4000, capped: true, error: null })).toBe('≥ 100,000 changes · 1 h 7 min');
    expect(lagText({ changes: null, seconds: null, capped: false, error: 'ECONNREFUSED' })).toBe('unknown (ECONNREFUSED)');
    expect(durationText(75)).toBe('1 min 15 s');
    expect(rateText(0.25)).toBe('0.3/s');
    expect(rateText(12345.6)).toBe('12,346/s');
  });

  it('shows a running copy with its progress, a failed one with why, and nothing for one that is done', () => {
    const base = { id: 1, reason: 'initial', rowsCopied: 500, rowsEstimated: 1000, fraction: 0.5, etaSeconds: 12, error: null };
    expect(activeCopy({ ...base, status: 'copying' })).toEqual({ label: 'initial copy: copying, 500 of ~1,000 rows, 12 s left', fraction: 0.5 });
    expect(activeCopy({ ...base, status: 'failed', error: 'target down' })).toEqual({ label: 'initial copy failed: target down', fraction: null });
    expect(activeCopy({ ...base, status: 'done' })).toBeNull();
    expect(activeCopy(null)).toBeNull();
  });

  it('says what the last verify found', () => {
    const run = { id: 1, kind: 'verify' as const, sourceRows: 10, targetRows: 9, missing: 1, extra: 0, different: 0, error: null, startedAt: '', finishedAt: '' };
    expect(verifyText({ ...run, status: 'differs' })).toBe('verify differs (1 missing, 0 extra, 0 different)');
    expect(verifyText({ ...run, status: 'matched' })).toBe('verify matched');
    expect(verifyText(undefined)).toBeNull();
  });

  it('puts routes that need attention first and sums them up', () => {
    const routes = [route('b', 'running'), route('a', 'running'), route('z', 'failing', 2), route('c', 'lagging')];
    expect(byUrgency(routes).map((r) => r.route)).toEqual(['z', 'c', 'a', 'b']);
    expect(summaryText(routes)).toBe('4 routes · 1 failing · 1 lagging · 2 dead letters');
    expect(summaryText([route('a', 'running')])).toBe('1 route · all healthy');
    expect(summaryText([])).toBe('no routes yet');
  });
});

import { routeState, STALL_AFTER_SECONDS } from './route-state';

describe('routeState', () => {
  const now = 1_000_000;
  const at = (ms: number) => new Date(ms);
  const progress = (lastErrorAt: Date | null, lastAppliedAt: Date | null) => ({ lastErrorAt, lastAppliedAt, lastError: lastErrorAt ? 'target down' : null });

  it('is paused when the route is disabled, whatever its errors', () => {
    expect(routeState({ enabled: false, progress: progress(at(2), at(1)), lagSeconds: 100, now }).state).toBe('paused');
  });

  it('is failing while the last error is newer than the last applied batch, and says the error', () => {
    expect(routeState({ enabled: true, progress: progress(at(2), at(1)), lagSeconds: 0, now })).toEqual({
      state: 'failing',
      reason: 'retrying since the last error: target down',
    });
    expect(routeState({ enabled: true, progress: progress(at(2), null), lagSeconds: null, now }).state).toBe('failing');
  });

  it('is failing while the source cannot be read, and says why (its lag is unknown, nothing can move)', () => {
    const justNow = at(now - 500);
    expect(routeState({ enabled: true, progress: progress(null, justNow), lagSeconds: null, sourceError: 'cannot read the source outbox: connect ECONNREFUSED', now })).toEqual({
      state: 'failing',
      reason: 'the source cannot be read: cannot read the source outbox: connect ECONNREFUSED',
    });
    expect(routeState({ enabled: false, progress: undefined, lagSeconds: null, sourceError: 'down', now }).state).toBe('paused');
  });

  it('is stalled when changes have waited long and nothing was applied meanwhile', () => {
    const longAgo = at(now - (STALL_AFTER_SECONDS + 5) * 1000);
    const stalled = routeState({ enabled: true, progress: progress(null, longAgo), lagSeconds: STALL_AFTER_SECONDS + 20, now });
    expect(stalled.state).toBe('stalled');
    expect(stalled.reason).toMatch(/nothing applied for 15 s while changes wait \(oldest 30 s\)/);
    expect(routeState({ enabled: true, progress: undefined, lagSeconds: STALL_AFTER_SECONDS + 1, now }).state).toBe('stalled');
  });

  it('is lagging while it applies but its oldest waiting change is old (catching up, or a target slower than the writes)', () => {
    const justNow = at(now - 500);
    expect(routeState({ enabled: true, progress: progress(null, justNow), lagSeconds: 3600, now })).toEqual({
      state: 'lagging',
      reason: 'applying, but the oldest waiting change is 3600 s old',
    });
  });

  it('is running while it keeps up, and when idle', () => {
    const justNow = at(now - 500);
    expect(routeState({ enabled: true, progress: progress(null, justNow), lagSeconds: STALL_AFTER_SECONDS - 1, now })).toEqual({ state: 'running', reason: null });
    expect(routeState({ enabled: true, progress: progress(null, at(1)), lagSeconds: 0, now }).state).toBe('running');
    expect(routeState({ enabled: true, progress: progress(at(1), at(2)), lagSeconds: null, now }).state).toBe('running');
    expect(routeState({ enabled: true, progress: undefined, lagSeconds: 2, now }).state).toBe('running');
  });
});

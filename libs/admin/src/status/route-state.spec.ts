import { routeState } from './route-state';

describe('routeState', () => {
  const at = (ms: number) => new Date(ms);

  it('is paused when the route is disabled, whatever its errors', () => {
    expect(routeState(false, { lastErrorAt: at(2), lastAppliedAt: at(1) })).toBe('paused');
  });

  it('is failing while the last error is newer than the last applied batch', () => {
    expect(routeState(true, { lastErrorAt: at(2), lastAppliedAt: at(1) })).toBe('failing');
    expect(routeState(true, { lastErrorAt: at(2), lastAppliedAt: null })).toBe('failing');
  });

  it('is running otherwise, also before anything was applied', () => {
    expect(routeState(true, { lastErrorAt: at(1), lastAppliedAt: at(2) })).toBe('running');
    expect(routeState(true, { lastErrorAt: null, lastAppliedAt: null })).toBe('running');
    expect(routeState(true, undefined)).toBe('running');
  });
});

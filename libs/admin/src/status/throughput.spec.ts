import { ThroughputTracker } from './throughput';

describe('ThroughputTracker', () => {
  it('reports nothing until two samples at least a second apart', () => {
    const tracker = new ThroughputTracker();
    expect(tracker.rate('r')).toEqual({ changesPerSecond: 0, windowSeconds: 0 });
    tracker.record('r', 100, 0);
    tracker.record('r', 150, 600);
    expect(tracker.rate('r')).toEqual({ changesPerSecond: 0, windowSeconds: 0 });
    tracker.record('r', 300, 2000);
    expect(tracker.rate('r')).toEqual({ changesPerSecond: 100, windowSeconds: 2 });
  });

  it('measures over the last window only', () => {
    const tracker = new ThroughputTracker(60_000);
    tracker.record('r', 0, 0);
    tracker.record('r', 6000, 60_000);
    tracker.record('r', 6000, 120_000); // idle for the last minute
    expect(tracker.rate('r')).toEqual({ changesPerSecond: 0, windowSeconds: 60 });
  });

  it('ignores samples closer than the minimum spacing, and starts over when the counter goes down', () => {
    const tracker = new ThroughputTracker(60_000, 500);
    tracker.record('r', 0, 0);
    tracker.record('r', 999, 100); // too close: ignored
    tracker.record('r', 10, 1000);
    expect(tracker.rate('r')).toEqual({ changesPerSecond: 10, windowSeconds: 1 });
    tracker.record('r', 5, 2000); // reset (route recreated)
    expect(tracker.rate('r')).toEqual({ changesPerSecond: 0, windowSeconds: 0 });
  });

  it('forgets routes that are gone', () => {
    const tracker = new ThroughputTracker();
    tracker.record('a', 0, 0);
    tracker.record('a', 10, 1000);
    tracker.retain(new Set(['b']));
    expect(tracker.rate('a')).toEqual({ changesPerSecond: 0, windowSeconds: 0 });
  });
});

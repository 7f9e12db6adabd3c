import { HoleTracker } from './hole-tracker';

const options = { closeDelayMs: 50, timeoutMs: 10_000 };

describe('HoleTracker', () => {
  it('records gaps between reads and holds the watermark below the first one', () => {
    const tracker = new HoleTracker([], options);
    tracker.noteRead(10, [11, 14, 15, 18], 0);
    expect(tracker.ranges()).toEqual([
      { from: 12, to: 13 },
      { from: 16, to: 17 },
    ]);
    expect(tracker.watermark(18)).toBe(11);
    expect(tracker.size()).toBe(4);
  });

  it('splits a hole when some of its ids commit and releases the watermark when all do', () => {
    const tracker = new HoleTracker([], options);
    tracker.noteRead(0, [10], 0);
    tracker.fill([5, 3]);
    expect(tracker.ranges()).toEqual([
      { from: 1, to: 2 },
      { from: 4, to: 4 },
      { from: 6, to: 9 },
    ]);
    tracker.fill([1, 2, 4, 6, 7, 8, 9]);
    expect(tracker.ranges()).toEqual([]);
    expect(tracker.watermark(10)).toBe(10);
  });

  it('closes a hole only after two empty probes at least the close delay apart', () => {
    const tracker = new HoleTracker([], options);
    tracker.noteRead(0, [3], 0);
    expect(tracker.dueForProbe(10, 10)).toEqual([]); // too young to probe
    let [hole] = tracker.dueForProbe(50, 10);
    expect(tracker.recordProbe(hole, { kind: 'settled', present: [] }, 50)).toBe('empty');
    expect(tracker.dueForProbe(60, 10)).toEqual([]); // probed too recently
    [hole] = tracker.dueForProbe(100, 10);
    expect(tracker.recordProbe(hole, { kind: 'settled', present: [] }, 100)).toBe('closed');
    expect(tracker.watermark(3)).toBe(3);
  });

  it('never closes a hole while a transaction holds one of its ids, and narrows it down', () => {
    const tracker = new HoleTracker([], options);
    tracker.noteRead(0, [5], 0);
    let [hole] = tracker.dueForProbe(50, 10);
    expect(tracker.recordProbe(hole, { kind: 'settled', present: [] }, 50)).toBe('empty');
    [hole] = tracker.dueForProbe(100, 10);
    expect(tracker.recordProbe(hole, { kind: 'locked' }, 100)).toBe('locked');
    expect(tracker.ranges()).toEqual([
      { from: 1, to: 2 },
      { from: 3, to: 4 },
    ]);
    // The locked probe reset the empty count: one more empty probe is not enough.
    [hole] = tracker.dueForProbe(150, 10);
    expect(tracker.recordProbe(hole, { kind: 'settled', present: [] }, 150)).toBe('empty');
    expect(tracker.watermark(5)).toBe(0);
  });

  it('leaves a hole whose ids committed to the next fill', () => {
    const tracker = new HoleTracker([], options);
    tracker.noteRead(0, [3], 0);
    const [hole] = tracker.dueForProbe(50, 10);
    expect(tracker.recordProbe(hole, { kind: 'settled', present: [1] }, 50)).toBe('filled');
    expect(tracker.ranges()).toEqual([{ from: 1, to: 2 }]);
  });

  it('expires holes past the timeout as the last resort', () => {
    const tracker = new HoleTracker([], options);
    tracker.noteRead(0, [3], 0);
    tracker.noteRead(3, [6], 5_000);
    expect(tracker.expire(10_000).map((h) => [h.from, h.to])).toEqual([[1, 2]]);
    expect(tracker.ranges()).toEqual([{ from: 4, to: 5 }]);
  });
});

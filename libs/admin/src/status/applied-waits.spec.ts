import { AppliedWaits } from './applied-waits';

describe('AppliedWaits (read-your-writes)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** Watermarks (and coverage) as the control schema has them, and how often they were read. */
  function control(initial: Record<string, number>) {
    const stored = new Map(Object.entries(initial));
    const coverage = new Map<string, number>();
    const reads: string[][] = [];
    const read = async (routes: string[]) => {
      reads.push(routes);
      return new Map(routes.map((route) => [route, { watermark: stored.get(route) ?? 0, coveredMicros: coverage.get(route) ?? null }]));
    };
    return { stored, coverage, reads, read };
  }

  it('answers a waiter that gave the source time once the route covers it, though an open transaction holds the watermark below the token', async () => {
    const { read, coverage, reads } = control({ a: 5 });
    const waits = new AppliedWaits(read, 1000);
    let done: unknown = null;
    const waiting = waits.wait(['a'], 10, 5000, 2_000_000).then((outcome) => (done = outcome));
    const tokenOnly = waits.wait(['a'], 10, 5000);
    for (let i = 0; i < 4; i++) await Promise.resolve();
    // A batch committed: the announcement carries the watermark only, so the route is read again.
    coverage.set('a', 1_999_999);
    waits.applied('a', 6);
    for (let i = 0; i < 6; i++) await Promise.resolve();
    expect(done).toBeNull();
    coverage.set('a', 2_000_001);
    waits.applied('a', 7);
    await waiting;
    expect(done).toMatchObject({ applied: true });
    expect(reads.length).toBeGreaterThanOrEqual(3);
    // Without the source time the token alone decides: still waiting on the watermark.
    expect(waits.waiting).toBe(1);
    waits.applied('a', 10);
    await expect(tokenOnly).resolves.toMatchObject({ applied: true });
  });

  it('answers at once when every route is already past the token', async () => {
    const { read } = control({ a: 10, b: 12 });
    const waits = new AppliedWaits(read, 1000);
    await expect(waits.wait(['a', 'b'], 10, 5000)).resolves.toEqual({ applied: true, watermarks: new Map([['a', 10], ['b', 12]]), reached: new Set(['a', 'b']) });
    expect(waits.waiting).toBe(0);
  });

  it('wakes a waiter when the last of its routes is announced past the token, and no sooner', async () => {
    const { read, reads } = control({ a: 5, b: 5 });
    const waits = new AppliedWaits(read, 1000);
    let done: unknown = null;
    const waiting = waits.wait(['a', 'b'], 10, 5000).then((outcome) => (done = outcome));
    await Promise.resolve();
    await Promise.resolve();
    waits.applied('a', 12);
    waits.applied('b', 9); // not yet
    await Promise.resolve();
    expect(done).toBeNull();
    waits.applied('b', 10);
    await waiting;
    expect(done).toEqual({ applied: true, watermarks: new Map([['a', 12], ['b', 10]]), reached: new Set(['a', 'b']) });
    expect(reads).toHaveLength(1); // the first look only: announcements did the rest
  });

  it('a thousand waiters on one route are woken by one announcement', async () => {
    const { read } = control({ a: 0 });
    const waits = new AppliedWaits(read, 1000);
    const all = Array.from({ length: 1000 }, (_, i) => waits.wait(['a'], 1 + (i % 10), 5000));
    await Promise.resolve();
    await Promise.resolve();
    await Promise.resolve();
    expect(waits.waiting).toBe(1000);
    waits.applied('a', 10);
    expect((await Promise.all(all)).every((outcome) => outcome.applied)).toBe(true);
    expect(waits.waiting).toBe(0);
  });

  it('finds a lost announcement with one shared look, and ends a wait that runs out as not applied', async () => {
    const { read, stored, reads } = control({ a: 1, b: 1 });
    const waits = new AppliedWaits(read, 1000);
    const onA = waits.wait(['a'], 5, 10_000);
    const onB = waits.wait(['b'], 5, 3_000);
    await Promise.resolve();
    await Promise.resolve();
    stored.set('a', 7); // applied, but nobody said so
    await jest.advanceTimersByTimeAsync(1000);
    await expect(onA).resolves.toMatchObject({ applied: true });
    expect(reads.at(-1)).toEqual(['a', 'b']); // one read for every route still waited for
    await jest.advanceTimersByTimeAsync(2000);
    await expect(onB).resolves.toEqual({ applied: false, watermarks: new Map([['b', 1]]), reached: new Set() });
    expect(waits.waiting).toBe(0);
  });
});

import { LeaderLease } from './leader-lease';
import { LeaseLoop } from './lease-loop';

describe('LeaseLoop.sleep and nudge', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const loop = () => new LeaseLoop({} as LeaderLease, 1000, async () => undefined, () => undefined);

  async function settled(promise: Promise<void>): Promise<boolean> {
    let done = false;
    void promise.then(() => (done = true));
    await Promise.resolve();
    await Promise.resolve();
    return done;
  }

  it('ends a running sleep at once when nudged', async () => {
    const l = loop();
    const sleeping = l.sleep(60_000);
    expect(await settled(sleeping)).toBe(false);
    l.nudge();
    expect(await settled(sleeping)).toBe(true);
    // The nudge was spent: the next sleep runs its time.
    const next = l.sleep(50);
    expect(await settled(next)).toBe(false);
    jest.advanceTimersByTime(50);
    expect(await settled(next)).toBe(true);
  });

  it('keeps a nudge that comes between sleeps for the next one, once', async () => {
    const l = loop();
    await (async () => {
      const first = l.sleep(10);
      jest.advanceTimersByTime(10);
      await first;
    })();
    l.nudge(); // while no sleep runs: work arrived during the cycle
    expect(await settled(l.sleep(60_000))).toBe(true);
    const after = l.sleep(60_000);
    expect(await settled(after)).toBe(false);
    l.nudge();
    await after;
  });
});

import { PeriodicTask } from './periodic-task';

describe('PeriodicTask', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A run that finishes only when told to. */
  function controlledWork() {
    const finishers: Array<(error?: Error) => void> = [];
    const work = jest.fn(
      () =>
        new Promise<void>((resolve, reject) => {
          finishers.push((error) => (error ? reject(error) : resolve()));
        }),
    );
    return { work, finish: (error?: Error) => finishers.shift()!(error) };
  }

  it('runs at start and on every tick, but never two runs at once', async () => {
    const { work, finish } = controlledWork();
    const task = new PeriodicTask(work, () => undefined);
    const first = task.start(1000);
    expect(work).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(3000); // three ticks while the first run is still going: skipped
    expect(work).toHaveBeenCalledTimes(1);
    expect(task.run()).toBe(first); // asking for a run joins the one going on
    finish();
    await first;
    jest.advanceTimersByTime(1000);
    expect(work).toHaveBeenCalledTimes(2);
    finish();
    await task.stop();
  });

  it('hands a failure to onError and tries again on the next tick', async () => {
    const { work, finish } = controlledWork();
    const errors: unknown[] = [];
    const task = new PeriodicTask(work, (error) => errors.push(error));
    const first = task.start(1000);
    finish(new Error('database away'));
    await expect(first).resolves.toBeUndefined();
    expect(errors).toEqual([new Error('database away')]);
    jest.advanceTimersByTime(1000);
    expect(work).toHaveBeenCalledTimes(2);
    finish();
    await task.stop();
  });

  it('stop() ends the ticks and waits for the run in progress', async () => {
    const { work, finish } = controlledWork();
    const task = new PeriodicTask(work, () => undefined);
    void task.start(1000);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    finish();
    await stopping;
    jest.advanceTimersByTime(5000);
    expect(work).toHaveBeenCalledTimes(1);
  });

  it('runAgain() runs once more after the run in progress, one run for any number of asks, and not after stop()', async () => {
    const { work, finish } = controlledWork();
    const task = new PeriodicTask(work, () => undefined);
    const first = task.start(60_000);
    const again = task.runAgain();
    expect(task.runAgain()).toBe(again); // a second ask while the first waits: the same run
    expect(work).toHaveBeenCalledTimes(1);
    finish();
    await first;
    await Promise.resolve();
    expect(work).toHaveBeenCalledTimes(2); // started as soon as the first ended
    finish();
    await again;
    const idle = task.runAgain(); // nothing running: runs now
    expect(work).toHaveBeenCalledTimes(3);
    finish();
    await idle;
    const last = task.runAgain();
    const queued = task.runAgain();
    const stopping = task.stop();
    finish();
    await Promise.all([last, queued, stopping]);
    expect(work).toHaveBeenCalledTimes(4); // the queued run never started: the task was stopped
  });
});

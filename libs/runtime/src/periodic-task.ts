/**
 * Runs `work` at start and then every `everyMs`, one run at a time: a tick
 * that finds the previous run still going is skipped (a slow database must
 * not pile runs up), a failure goes to `onError` and the next tick tries
 * again, and stop() ends the timer and waits for the run in progress. The
 * refresh loop of the relay, the worker and the admin's sampler and
 * dashboard.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** A run asked for by runAgain, to start once the running one ends (one for any number of asks). */
  private again: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Starts the timer and runs once now; the promise is that first run (await it to start in step). */
  start(everyMs: number): Promise<void> {
    this.timer ??= setInterval(() => void this.run(), everyMs);
    return this.run();
  }

  /** Runs now, unless a run is going on: then it is that run. Never rejects; after stop(), does nothing. */
  run(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.work()
      .catch((error: unknown) => {
        this.onError(error);
      })
      .finally(() => (this.running = null));
    return this.running;
  }

  /**
   * Runs now, or right after the run in progress: what changed after that
   * run began reading is seen (run() would only join it). Asks that come
   * while a run waits to start share it.
   */
  runAgain(): Promise<void> {
    if (!this.running) return this.run();
    this.again ??= this.running.then(() => {
      this.again = null;
      return this.run();
    });
    return this.again;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.again;
  }
}

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

  constructor(
    private readonly work: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Starts the timer and runs once now; the promise is that first run (await it to start in step). */
  start(everyMs: number): Promise<void> {
    this.timer ??= setInterval(() => void this.run(), everyMs);
    return this.run();
  }

  /** Runs now, unless a run is going on: then it is that run. Never rejects. */
  run(): Promise<void> {
    this.running ??= this.work()
      .catch((error: unknown) => {
        this.onError(error);
      })
      .finally(() => (this.running = null));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

import { LeaderLease } from './leader-lease';

/**
 * Runs one job of a source while holding its lease, across processes: waits
 * for the lease, runs `lead` until it returns (deposed) or fails, releases
 * the lease, waits `retryMs` and tries again, until stopped. `sleep` is cut
 * short by stop(), so a leader waiting between polls stops at once.
 */
export class LeaseLoop {
  private halted = false;
  private wake: (() => void) | null = null;
  /** nudge() came while no sleep was running: the next one returns at once. */
  private nudged = false;
  private running: Promise<void> | null = null;

  constructor(
    private readonly lease: LeaderLease,
    private readonly retryMs: number,
    private readonly lead: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  get stopped(): boolean {
    return this.halted;
  }

  start(): void {
    this.running ??= this.standby();
  }

  async stop(): Promise<void> {
    this.halted = true;
    this.wake?.();
    await this.running;
  }

  /** Cuts the running sleep short, or the next one if none runs: there is work now. */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  sleep(ms: number): Promise<void> {
    if (this.nudged) {
      this.nudged = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = null;
        this.nudged = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async standby(): Promise<void> {
    while (!this.halted) {
      let holding = false;
      try {
        holding = await this.lease.tryAcquire();
        if (holding) await this.lead();
      } catch (error) {
        this.onError(error);
      } finally {
        if (holding) await this.lease.release();
      }
      if (!this.halted) await this.sleep(this.retryMs);
    }
  }
}

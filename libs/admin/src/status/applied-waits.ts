/** Where each of a wait's routes stands when the wait ends. */
export interface WaitOutcome {
  applied: boolean;
  watermarks: Map<string, number>;
}

interface Waiter {
  token: number;
  routes: readonly string[];
  pending: Set<string>;
  finish(applied: boolean): void;
}

/**
 * Read-your-writes waits: each resolves as soon as every one of its routes
 * has applied every change up to its token (watermark ≥ token), or at its
 * timeout. Waiters are woken by the workers' announcements (`applied`), not
 * by polling per waiter, so a thousand waiting clients cost one subscribed
 * connection; announcements can be lost, so one shared look at the control
 * schema every `pollMs` covers every route still waited for.
 */
export class AppliedWaits {
  private readonly waiters = new Set<Waiter>();
  /** The highest watermark seen per route (only ever moves up). */
  private readonly known = new Map<string, number>();
  private poll: NodeJS.Timeout | null = null;
  /** Routes to read again (moved), and the read doing it. */
  private readonly toRead = new Set<string>();
  private reading: Promise<void> | null = null;

  constructor(
    private readonly readWatermarks: (routeIds: string[]) => Promise<Map<string, number>>,
    private readonly pollMs: number,
  ) {}

  async wait(routeIds: readonly string[], token: number, timeoutMs: number): Promise<WaitOutcome> {
    this.learn(await this.readWatermarks([...routeIds]));
    const pending = new Set(routeIds.filter((route) => (this.known.get(route) ?? 0) < token));
    if (pending.size === 0) return { applied: true, watermarks: this.watermarksOf(routeIds) };
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = {
        token,
        routes: routeIds,
        pending,
        finish: (applied) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          if (this.waiters.size === 0) this.stopPolling();
          resolve({ applied, watermarks: this.watermarksOf(routeIds) });
        },
      };
      const timer = setTimeout(() => waiter.finish(false), timeoutMs);
      this.waiters.add(waiter);
      this.poll ??= setInterval(() => void this.lookAgain(), this.pollMs);
    });
  }

  /** A route's checkpoint moved (a worker's announcement, or the shared look). */
  applied(routeId: string, watermark: number): void {
    if (watermark <= (this.known.get(routeId) ?? 0)) return;
    this.known.set(routeId, watermark);
    for (const waiter of [...this.waiters]) {
      if (!waiter.pending.has(routeId) || watermark < waiter.token) continue;
      waiter.pending.delete(routeId);
      if (waiter.pending.size === 0) waiter.finish(true);
    }
  }

  /**
   * Part of a route moved (a partition's announcement: the route's watermark
   * is its partitions' lowest, which only the control schema tells): routes
   * waited for are read again, in one read for all that ask meanwhile.
   */
  moved(routeId: string): void {
    if (![...this.waiters].some((waiter) => waiter.pending.has(routeId))) return;
    this.toRead.add(routeId);
    this.reading ??= this.readMoved().finally(() => (this.reading = null));
  }

  /** Ends every wait as not applied (shutdown). */
  close(): void {
    for (const waiter of [...this.waiters]) waiter.finish(false);
    this.stopPolling();
  }

  get waiting(): number {
    return this.waiters.size;
  }

  private async lookAgain(): Promise<void> {
    const routes = new Set([...this.waiters].flatMap((waiter) => [...waiter.pending]));
    if (routes.size === 0) return;
    try {
      this.learn(await this.readWatermarks([...routes]));
    } catch {
      // The control schema away: the next look, or an announcement, tries again.
    }
  }

  private async readMoved(): Promise<void> {
    while (this.toRead.size > 0) {
      const routes = [...this.toRead];
      this.toRead.clear();
      try {
        this.learn(await this.readWatermarks(routes));
      } catch {
        // As lookAgain: the shared look covers it.
      }
    }
  }

  private learn(watermarks: Map<string, number>): void {
    for (const [route, watermark] of watermarks) this.applied(route, watermark);
  }

  private watermarksOf(routeIds: readonly string[]): Map<string, number> {
    return new Map(routeIds.map((route) => [route, this.known.get(route) ?? 0]));
  }

  private stopPolling(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }
}

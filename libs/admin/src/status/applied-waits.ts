/** Where each of a wait's routes stands when the wait ends. */
export interface WaitOutcome {
  applied: boolean;
  watermarks: Map<string, number>;
  /** The routes that had applied what the wait asked for when it ended. */
  reached: Set<string>;
}

/** Where a route stands: its watermark, and its coverage in source time (RouteProgressRecord.coveredMicros). */
export interface RoutePosition {
  watermark: number;
  coveredMicros: number | null;
}

interface Waiter {
  token: number;
  /** The source's clock when the wait was asked (µs), or null: coverage at or after it answers too. */
  since: number | null;
  routes: readonly string[];
  pending: Set<string>;
  finish(applied: boolean): void;
}

/**
 * Read-your-writes waits: each resolves as soon as every one of its routes
 * has applied every change up to its token (watermark ≥ token) — or, given
 * the source's clock when the wait was asked, every change committed before
 * then (coverage ≥ since: the writer committed before it asked, and an
 * unrelated transaction still open below the token does not hold it back) —
 * or at its timeout. Waiters are woken by the workers' announcements (`applied`), not
 * by polling per waiter, so a thousand waiting clients cost one subscribed
 * connection; announcements can be lost, so one shared look at the control
 * schema every `pollMs` covers every route still waited for.
 */
export class AppliedWaits {
  private readonly waiters = new Set<Waiter>();
  /** The highest watermark seen per route (only ever moves up). */
  private readonly known = new Map<string, number>();
  /** The highest coverage seen per route (only ever moves up). */
  private readonly covered = new Map<string, number>();
  private poll: NodeJS.Timeout | null = null;
  /** Routes to read again (moved), and the read doing it. */
  private readonly toRead = new Set<string>();
  private reading: Promise<void> | null = null;

  constructor(
    private readonly readPositions: (routeIds: string[]) => Promise<Map<string, RoutePosition>>,
    private readonly pollMs: number,
  ) {}

  async wait(routeIds: readonly string[], token: number, timeoutMs: number, since: number | null = null): Promise<WaitOutcome> {
    this.learn(await this.readPositions([...routeIds]));
    const pending = new Set(routeIds.filter((route) => !this.reached(route, token, since)));
    if (pending.size === 0) return { applied: true, watermarks: this.watermarksOf(routeIds), reached: new Set(routeIds) };
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = {
        token,
        since,
        routes: routeIds,
        pending,
        finish: (applied) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          if (this.waiters.size === 0) this.stopPolling();
          resolve({ applied, watermarks: this.watermarksOf(routeIds), reached: new Set(routeIds.filter((route) => !pending.has(route))) });
        },
      };
      const timer = setTimeout(() => waiter.finish(false), timeoutMs);
      this.waiters.add(waiter);
      this.poll ??= setInterval(() => void this.lookAgain(), this.pollMs);
    });
  }

  /**
   * A route's checkpoint moved (a worker's announcement, or the shared look).
   * Announcements carry the watermark only: a waiter that a coverage could
   * answer has the route read again (moved).
   */
  applied(routeId: string, watermark: number, coveredMicros: number | null = null): void {
    const higher = watermark > (this.known.get(routeId) ?? 0);
    const further = coveredMicros !== null && coveredMicros > (this.covered.get(routeId) ?? 0);
    if (higher) this.known.set(routeId, watermark);
    if (further) this.covered.set(routeId, coveredMicros);
    let reread = false;
    for (const waiter of [...this.waiters]) {
      if (!waiter.pending.has(routeId)) continue;
      if (!this.reached(routeId, waiter.token, waiter.since)) {
        reread ||= waiter.since !== null && coveredMicros === null;
        continue;
      }
      waiter.pending.delete(routeId);
      if (waiter.pending.size === 0) waiter.finish(true);
    }
    if (reread) this.moved(routeId);
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
      this.learn(await this.readPositions([...routes]));
    } catch {
      // The control schema away: the next look, or an announcement, tries again.
    }
  }

  private async readMoved(): Promise<void> {
    while (this.toRead.size > 0) {
      const routes = [...this.toRead];
      this.toRead.clear();
      try {
        this.learn(await this.readPositions(routes));
      } catch {
        // As lookAgain: the shared look covers it.
      }
    }
  }

  private learn(positions: Map<string, RoutePosition>): void {
    for (const [route, position] of positions) this.applied(route, position.watermark, position.coveredMicros ?? 0);
  }

  /** Whether a route has applied what a waiter with this token (and source time) waits for. */
  private reached(routeId: string, token: number, since: number | null): boolean {
    if ((this.known.get(routeId) ?? 0) >= token) return true;
    return since !== null && (this.covered.get(routeId) ?? 0) >= since;
  }

  private watermarksOf(routeIds: readonly string[]): Map<string, number> {
    return new Map(routeIds.map((route) => [route, this.known.get(route) ?? 0]));
  }

  private stopPolling(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }
}

/** Applied changes per second over a recent window, for one route. */
export interface Throughput {
  changesPerSecond: number;
  /** The span the rate was measured over (0 until there are two samples at least a second apart). */
  windowSeconds: number;
}

interface Sample {
  at: number;
  total: number;
}

/**
 * Throughput from samples of each route's `applied_total` (a counter in the
 * control schema). In memory only: after an admin restart it starts empty and
 * reports 0 until a second sample a second or more after the first.
 * Memory is bounded: at most windowMs / minSpacingMs samples per route.
 */
export class ThroughputTracker {
  private readonly samples = new Map<string, Sample[]>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly minSpacingMs = 500,
  ) {}

  record(routeId: string, total: number, at: number): void {
    let list = this.samples.get(routeId);
    const last = list?.[list.length - 1];
    // A counter that went down was reset (route recreated): earlier samples mean nothing now.
    if (!list || (last && total < last.total)) {
      list = [];
      this.samples.set(routeId, list);
    } else if (last && at - last.at < this.minSpacingMs) {
      return;
    }
    list.push({ at, total });
    while (list.length > 1 && list[0].at < at - this.windowMs) list.shift();
  }

  rate(routeId: string): Throughput {
    const list = this.samples.get(routeId);
    if (!list || list.length < 2) return { changesPerSecond: 0, windowSeconds: 0 };
    const first = list[0];
    const last = list[list.length - 1];
    const span = last.at - first.at;
    if (span < 1000) return { changesPerSecond: 0, windowSeconds: 0 };
    return { changesPerSecond: round((last.total - first.total) / (span / 1000)), windowSeconds: round(span / 1000) };
  }

  /** Drops routes that no longer exist. */
  retain(routeIds: ReadonlySet<string>): void {
    for (const id of this.samples.keys()) if (!routeIds.has(id)) this.samples.delete(id);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

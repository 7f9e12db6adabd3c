import { RouteSelector, routeWants } from '@tributary/model';
import { OutboxHeader } from '@tributary/outbox';
import { SeqRange } from '@tributary/queue';

/**
 * Pending ranges of one route beyond this many are merged with their nearest
 * neighbour: a merged range may also cover seqs the route already got, which
 * apply skips (invariant 4). Keeps a route that lags for hours at a bounded size.
 */
export const MAX_PENDING_RANGES = 1000;

/**
 * What the relay owes one route: the seq ranges of its changes that the relay
 * has seen committed but not yet put into a job. The route's own cursor, in
 * memory: while its queue is full (a slow or failing target) the ranges only
 * grow and merge, the other routes go on, and the rows wait in the outbox
 * (the buffer, invariant 1). After a relay restart or a Redis loss the feed
 * is rebuilt from the route's durably applied watermark (`resetFrom`).
 */
export class RouteFeed {
  private pending: SeqRange[] = [];
  /** The watermark of the last job sent, and when it was sent. */
  sentWatermark = -1;
  lastSentAt = 0;

  constructor(readonly route: RouteSelector) {}

  get routeId(): string {
    return this.route.routeId;
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  ranges(): readonly SeqRange[] {
    return this.pending;
  }

  /** Adds a range of seqs, merging it with the ranges it overlaps or touches. */
  add(range: SeqRange): void {
    const list = this.pending;
    // First range that ends at or after range.from - 1 (could touch or overlap).
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].to < range.from - 1) lo = mid + 1;
      else hi = mid;
    }
    let from = range.from;
    let to = range.to;
    let end = lo;
    while (end < list.length && list[end].from <= to + 1) {
      from = Math.min(from, list[end].from);
      to = Math.max(to, list[end].to);
      end++;
    }
    list.splice(lo, end - lo, { from, to });
    if (list.length > MAX_PENDING_RANGES) this.mergeClosest();
  }

  /**
   * Seqs from..to will never hold a row (their transactions rolled back):
   * ranges on both sides of them can be one.
   */
  closeGap(from: number, to: number): void {
    const list = this.pending;
    const left = list.findIndex((range) => range.to === from - 1);
    if (left >= 0 && list[left + 1]?.from === to + 1) list.splice(left, 2, { from: list[left].from, to: list[left + 1].to });
  }

  /** Hands every pending range over for one job and forgets them. */
  take(): SeqRange[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  /**
   * Starts over from what the route has durably applied: every seq above
   * `applied` up to `high` is owed again, except the open holes (they are
   * delivered when they fill). Seqs it already got are skipped at apply.
   */
  resetFrom(applied: number, high: number, holes: readonly SeqRange[]): void {
    this.pending = [];
    this.sentWatermark = -1;
    let start = applied + 1;
    for (const hole of holes) {
      if (hole.to < start) continue;
      if (hole.from > high) break;
      if (hole.from > start) this.add({ from: start, to: Math.min(hole.from - 1, high) });
      start = hole.to + 1;
    }
    if (start <= high) this.add({ from: start, to: high });
  }

  private mergeClosest(): void {
    const list = this.pending;
    let best = 0;
    for (let i = 1; i < list.length - 1; i++) {
      if (list[i + 1].from - list[i].to < list[best + 1].from - list[best].to) best = i;
    }
    list.splice(best, 2, { from: list[best].from, to: list[best + 1].to });
  }
}

/**
 * Rows of other tables (or routes) a run may span: a worker reading the run
 * scans them for nothing, so a route of one table among many busy ones gets
 * tight ranges, and a route of a table written in bulk gets one range.
 */
export const MAX_SPANNED_ROWS = 16;

/**
 * The route's runs in one contiguous read of the outbox (`headers` ascending,
 * every seq between two of them known to be a hole): stretches from one of
 * its rows to another with no hole and at most MAX_SPANNED_ROWS rows not its
 * own between, so a job never spans an open transaction's ids (those come
 * when the hole fills) and asks the worker to read little it does not need.
 */
export function routeRuns(headers: readonly OutboxHeader[], route: RouteSelector): SeqRange[] {
  const runs: SeqRange[] = [];
  let run: SeqRange | null = null;
  let previous: number | null = null;
  let spanned = 0;
  for (const header of headers) {
    const hole = previous !== null && header.seq > previous + 1;
    previous = header.seq;
    if (run && hole) {
      runs.push(run);
      run = null;
    }
    if (!routeWants(header, route)) {
      spanned++;
      continue;
    }
    if (run && spanned > MAX_SPANNED_ROWS) {
      runs.push(run);
      run = null;
    }
    spanned = 0;
    if (run) run.to = header.seq;
    else run = { from: header.seq, to: header.seq };
  }
  if (run) runs.push(run);
  return runs;
}

import { feedId, RoutePartition, RouteSelector, routeWants } from '@tributary/model';
import { OutboxHeader } from '@tributary/outbox';
import { RangeJobData, rangeJobId, RelayJobData, SeqRange } from '@tributary/queue';

/**
 * Pending ranges of one route beyond this many are merged with their nearest
 * neighbour: a merged range may also cover seqs the route already got, which
 * apply skips (invariant 4). Keeps a route that lags for hours at a bounded size.
 */
export const MAX_PENDING_RANGES = 1000;

/**
 * What the relay owes one route: the seq ranges of its changes that the relay
 * has seen committed but not yet put into a job. The route's own cursor, in
 * memory: while its job is unfinished (a slow or failing target) the ranges only
 * grow and merge, the other routes go on, and the rows wait in the outbox
 * (the buffer, invariant 1). After a relay restart or a Redis loss the feed
 * is rebuilt from the route's durably applied watermark (`resetFrom`).
 *
 * Each partition of a partitioned route is a feed of its own: the same
 * ranges (the worker keeps its partition's keys), its own job in flight and
 * its own applied watermark.
 */
export class RouteFeed implements RouteSelector {
  private pending: SeqRange[] = [];
  /** Changes of the route inside the pending ranges (they also span rows of other tables). */
  private owed = 0;
  /** The watermark of the last job sent, and when it was sent. */
  sentWatermark = -1;
  /**
   * The start (source clock, µs) of the latest relay read that saw, in one
   * snapshot, everything committed before it, taken while this feed was not
   * catching up: every row of the route committed before this moment is owed
   * to the feed or was in one of its jobs. Its next job carries it
   * (RangeJobData.coveredMicros). Null: none yet (or reset since).
   */
  coveredMicros: number | null = null;
  /** The coverage its last job or idle move carried. */
  sentCoveredMicros = 0;
  lastSentAt = 0;
  /**
   * The route's range job still in its source's queue, or null: the route
   * gets its next job only once this one is done. The queue is shared by the
   * source's routes, so this is what keeps a route's jobs in order.
   */
  inFlight: string | null = null;
  /** A worker said the job in flight is done (SignalListener): ask the queue now. */
  inFlightDone = false;
  /** When the queue was last asked about the job in flight (or it was sent). */
  inFlightCheckedAt = 0;

  /** The feed's name: its progress row, target checkpoint and job ids (feedId). */
  readonly id: string;

  constructor(
    readonly route: RouteSelector,
    readonly partition: RoutePartition | null = null,
  ) {
    this.id = feedId(route.routeId, partition);
  }

  get routeId(): string {
    return this.route.routeId;
  }

  get table(): string {
    return this.route.table;
  }

  get targetId(): string {
    return this.route.targetId;
  }

  /** As the route's: a feed is read with routeWants like its route (it stands for it as a RouteSelector). */
  get localOnly(): boolean | undefined {
    return this.route.localOnly;
  }

  /** Whether an outbox row is owed to this feed. */
  wants(row: { table: string; seq: number; origin: string | null }): boolean {
    return routeWants(row, this.route);
  }

  /** The source table names whose rows the feed may want (a renamed table's old names too). */
  get tables(): readonly string[] {
    return namesOf(this.route);
  }

  /** The progress rows (feed ids) this feed's jobs and idle moves advance. */
  get progressIds(): readonly string[] {
    return [this.id];
  }

  /**
   * Whether what the feed is owed may go out in a job now. Always, for a
   * route's feed; a transaction feed holds back until a read showed that
   * every source transaction in it is whole (TransactionFeed).
   */
  get mayTake(): boolean {
    return true;
  }

  /** What tells this feed from another of the same id (a changed route is a new feed). */
  signature(): string {
    const r = this.route;
    return JSON.stringify([r.routeId, r.table, r.names ?? null, r.targetId, r.localOnly === true, this.partition?.count ?? 1]);
  }

  /** The job handing over `ranges` (what take() returned), promising `watermark`. */
  jobFor(sourceId: string, ranges: SeqRange[], watermark: number, coveredMicros: number | null): { data: RelayJobData; id: string } {
    const data: RangeJobData = { v: 2, kind: 'range', sourceId, routeId: this.routeId, table: this.route.table, ranges, watermark };
    if (this.partition) data.partition = this.partition;
    if (coveredMicros !== null) data.coveredMicros = coveredMicros;
    return { data, id: rangeJobId(data) };
  }

  /** Pending ranges beyond this many are merged (see MAX_PENDING_RANGES). */
  protected readonly maxPendingRanges: number = MAX_PENDING_RANGES;

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  ranges(): readonly SeqRange[] {
    return this.pending;
  }

  get owedChanges(): number {
    return this.owed;
  }

  /** Adds a range of seqs holding `changes` of the route's changes, merged with the ranges it overlaps or touches. */
  add(range: SeqRange, changes = range.to - range.from + 1): void {
    this.owed += changes;
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
    if (list.length > this.maxPendingRanges) this.mergeClosest();
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
    this.owed = 0;
    return taken;
  }

  /**
   * Starts over from what the route has durably applied: every seq above
   * `applied` up to `high` is owed again. Rather than one range over all of
   * it (the worker would scan every other table's rows in it), the relay
   * re-reads those headers for the route (`catchUpFrom` .. `catchUpUntil`,
   * shared with other routes catching up) and feeds it exact runs. Seqs it
   * already got are skipped at apply (invariant 4).
   */
  resetFrom(applied: number, high: number): void {
    this.pending = [];
    this.owed = 0;
    this.sentWatermark = -1;
    this.coveredMicros = null;
    this.sentCoveredMicros = 0;
    // A job still queued (if Redis kept it) is covered by what is owed now: from `applied` on.
    this.inFlight = null;
    this.catchUp = applied < high ? { next: applied + 1, until: high } : null;
  }

  /** While catching up: the next seq to re-read and the last one (the relay's high when the route was reset). */
  catchUp: { next: number; until: number } | null = null;

  /** While catching up, whether a re-read row at `seq` is still for it (a shared read starts at the lowest route's next). */
  catchesUp(seq: number): boolean {
    return this.catchUp !== null && seq >= this.catchUp.next && seq <= this.catchUp.until;
  }

  /** Takes what a catch-up read found: its runs in it (runsOfRead with catchesUp), which covers every row through `readTo`. */
  caughtUpTo(readTo: number, runs: readonly Run[]): void {
    const catchUp = this.catchUp;
    if (!catchUp || readTo < catchUp.next) return;
    for (const run of runs) this.add(run, run.changes);
    catchUp.next = readTo + 1;
    if (catchUp.next > catchUp.until) this.catchUp = null;
  }

  /**
   * The watermark a job may promise: every change of the route at or below
   * it is in that job or an earlier one — so never past what a catch-up has
   * re-read yet.
   */
  jobWatermark(relayWatermark: number): number {
    return this.catchUp ? Math.min(relayWatermark, this.catchUp.next - 1) : relayWatermark;
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

/** A stretch of a read that holds `changes` of one route's changes. */
export interface Run extends SeqRange {
  changes: number;
}

/**
 * The runs of many routes in one contiguous read of the outbox (`headers`
 * ascending, every seq missing between two of them a hole or a rolled-back
 * id), in one pass: for each route, stretches from one of its rows to another
 * with no missing id and at most MAX_SPANNED_ROWS rows not its own between,
 * so a job never spans an open transaction's ids (those come when the hole
 * fills) and asks the worker to read little it does not need. `routesOf`
 * names the routes that may want a table's rows; `wanted` can narrow a
 * route to a window of seqs (a route catching up).
 */
/** Every name a route's table has had (its current one first). */
export function namesOf(route: RouteSelector): string[] {
  return route.names ? [...new Set([route.table, ...route.names.map((span) => span.table)])] : [route.table];
}

export function runsOfRead<R extends RouteSelector>(
  headers: readonly OutboxHeader[],
  routesOf: (table: string) => readonly R[] | undefined,
  wanted: (route: R, seq: number) => boolean = () => true,
): Map<R, Run[]> {
  const runs = new Map<R, Run[]>();
  const open = new Map<R, { run: Run; index: number }>();
  let lastGap = -1;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i];
    if (i > 0 && header.seq > headers[i - 1].seq + 1) lastGap = i;
    for (const route of routesOf(header.table) ?? []) {
      if (!(route instanceof RouteFeed ? route.wants(header) : routeWants(header, route)) || !wanted(route, header.seq)) continue;
      const current = open.get(route);
      if (current && lastGap <= current.index && i - current.index - 1 <= MAX_SPANNED_ROWS) {
        current.run.to = header.seq;
        current.run.changes++;
        current.index = i;
        continue;
      }
      const run = { from: header.seq, to: header.seq, changes: 1 };
      open.set(route, { run, index: i });
      runs.set(route, [...(runs.get(route) ?? []), run]);
    }
  }
  return runs;
}

/** runsOfRead for one route. */
export function routeRuns(headers: readonly OutboxHeader[], route: RouteSelector): Run[] {
  return runsOfRead(headers, (table) => (table === route.table ? [route] : undefined)).get(route) ?? [];
}

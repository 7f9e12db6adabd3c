import { inPartition, RoutePartition, RouteSelector, routeWants, WireChange } from '@tributary/model';
import { isCopyChunk, OutboxRepository, RANGES_PER_QUERY } from '@tributary/outbox';
import { SeqRange } from '@tributary/queue';

/** One read of a range job: the route's changes in seq order, and how far the ranges are now read. */
export interface RangeChunk {
  changes: WireChange[];
  /** Every row of the table inside the job's ranges with seq <= coveredTo has been read. */
  coveredTo: number;
  /** Nothing is left to read. */
  done: boolean;
}

/**
 * Reads a range job's rows for one route from the source outbox, in seq order
 * in reads of at most `limit` rows or one copy chunk (bounded memory, invariant 7), above
 * `floor` — the route's applied checkpoint, below which every change is at
 * the target already (a re-sent range after a restart costs nothing). A
 * partition's reader reads only its partition's changes (inPartition), in
 * SQL where it can: every partition of a route is given the same ranges.
 */
export class RangeReader {
  private readonly groups: SeqRange[][] = [];
  private group = 0;
  private after: number;

  constructor(
    private readonly outbox: OutboxRepository,
    /** The route, or the routes of a transactional target read together (the rows any of them wants). */
    private readonly route: RouteSelector | readonly RouteSelector[],
    ranges: readonly SeqRange[],
    floor: number,
    private readonly limit: number,
    private readonly partition: RoutePartition | null = null,
  ) {
    const open = ranges.filter((range) => range.to > floor);
    for (let i = 0; i < open.length; i += RANGES_PER_QUERY) this.groups.push(open.slice(i, i + RANGES_PER_QUERY));
    this.after = floor;
  }

  /** What the last read returned beyond a copy chunk, still to hand out. */
  private rest: RangeChunk | null = null;

  /**
   * The next changes in seq order. A copy chunk is handed out on its own,
   * its rows read now (never more than one chunk's rows in memory): first
   * what came before it, then its rows, then what came after.
   */
  async next(): Promise<RangeChunk> {
    const read = this.rest ?? (await this.read());
    this.rest = null;
    const at = read.changes.findIndex(isCopyChunk);
    if (at < 0) return read;
    const chunk = read.changes[at];
    if (at > 0) {
      this.rest = { ...read, changes: read.changes.slice(at) };
      return { changes: read.changes.slice(0, at), coveredTo: chunk.seq - 1, done: false };
    }
    const rows = this.ofPartition(await this.outbox.readCopyChunk(chunk));
    if (read.changes.length === 1) return { ...read, changes: rows };
    this.rest = { ...read, changes: read.changes.slice(1) };
    return { changes: rows, coveredTo: chunk.seq, done: false };
  }

  private async read(): Promise<RangeChunk> {
    while (this.group < this.groups.length) {
      const ranges = this.groups[this.group];
      const rows = await this.outbox.readRouteChanges(this.route, ranges, this.after, this.limit, this.partition);
      if (rows.length === this.limit) {
        this.after = rows[rows.length - 1].seq;
        return { changes: this.wanted(rows), coveredTo: this.after, done: false };
      }
      // Short read: this group of ranges is read to its end.
      this.after = Math.max(this.after, ranges[ranges.length - 1].to);
      this.group++;
      if (rows.length > 0) return { changes: this.wanted(rows), coveredTo: this.after, done: this.group >= this.groups.length };
    }
    return { changes: [], coveredTo: this.after, done: true };
  }

  /** A copy chunk's rows of this reader's partition (the outbox read picks the partition's other rows itself). */
  private ofPartition(rows: WireChange[]): WireChange[] {
    const partition = this.partition;
    return partition && partition.count > 1 ? rows.filter((row) => inPartition(row, partition)) : rows;
  }

  /** The read already leaves out what the route does not want; routeWants is the rule the relay follows too. */
  private wanted(rows: WireChange[]): WireChange[] {
    const routes: readonly RouteSelector[] = Array.isArray(this.route) ? this.route : [this.route];
    return rows.filter((row) => routes.some((route) => routeWants(row, route)));
  }
}

import { RouteSelector, routeWants } from '@tributary/model';
import { RelayJobData, SeqRange, TransactionJobData, transactionFeedId, transactionJobId } from '@tributary/queue';
import { namesOf, RouteFeed } from './route-feed';

/**
 * What the relay owes a source's routes into one transactional target
 * (issue #15), as ONE feed: their rows of every table in seq ranges, handed
 * out in one job that the worker applies in one target transaction.
 *
 * Exactness rests on InnoDB's atomic visibility: a read view holds all of a
 * committed transaction's rows or none of them. So after a *complete* read
 * — the relay's poll of the holes and of everything past its high in one
 * statement, short of its limit, with no late commit read by another
 * statement, and the feed not catching up — the rows this feed has been
 * fed are exactly the rows of the transactions committed before that read:
 * whole transactions. Only then may they go out (`sealed`); a read that
 * was not complete (a backlog read to its limit can end inside a
 * transaction) holds them back until the next complete one. Ranges are
 * never merged across seqs the relay has not seen (a merged range could
 * take part of a transaction committed later, when the worker reads it).
 */
export class TransactionFeed extends RouteFeed {
  /** Set after each poll: whether everything owed now is whole source transactions. */
  sealed = false;
  protected override readonly maxPendingRanges = Number.POSITIVE_INFINITY;

  constructor(
    targetId: string,
    /** The routes of the source into the target, enabled and unpartitioned, in id order. */
    readonly members: readonly RouteSelector[],
  ) {
    super({ routeId: transactionFeedId(targetId), table: '', targetId });
  }

  override wants(row: { table: string; seq: number; origin: string | null }): boolean {
    return this.members.some((member) => routeWants(row, member));
  }

  override get tables(): readonly string[] {
    return [...new Set(this.members.flatMap(namesOf))];
  }

  override get progressIds(): readonly string[] {
    return this.members.map((member) => member.routeId);
  }

  override get mayTake(): boolean {
    return this.sealed;
  }

  override signature(): string {
    return JSON.stringify(this.members.map((m) => [m.routeId, m.table, m.names ?? null, m.targetId, m.localOnly === true]));
  }

  override resetFrom(applied: number, high: number): void {
    super.resetFrom(applied, high);
    this.sealed = false;
  }

  override jobFor(sourceId: string, ranges: SeqRange[], watermark: number, coveredMicros: number | null): { data: RelayJobData; id: string } {
    const routes = this.members.map((member) => ({ routeId: member.routeId, table: member.table }));
    const data: TransactionJobData = { v: 2, kind: 'transaction', sourceId, targetId: this.targetId, routes, ranges, watermark };
    if (coveredMicros !== null) data.coveredMicros = coveredMicros;
    return { data, id: transactionJobId(data) };
  }
}

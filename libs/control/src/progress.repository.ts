import { Knex } from 'knex';
import { feedIdsOf, partitionOfFeed } from '@tributary/model';
import { parseUtc } from './mysql-dates';
import { FeedProgressRecord, RelayStateRecord, RouteProgressRecord } from './types';

/**
 * Replication progress: the relay's fenced checkpoint, and the applied
 * position of every feed — a route, or each partition of a partitioned route
 * (feedId) — which `listProgress` gives back per route.
 */
export class ProgressRepository {
  constructor(private readonly knex: Knex) {}

  async loadRelayState(sourceId: string): Promise<RelayStateRecord | null> {
    const row = await this.knex('tributary_relay_state').where({ source_id: sourceId }).first();
    if (!row) return null;
    return {
      sourceId: row.source_id,
      epoch: Number(row.epoch),
      watermark: Number(row.watermark),
      high: Number(row.high),
      holes: JSON.parse(row.holes),
      leader: row.leader,
    };
  }

  /**
   * Becomes the relay leader for a source: bumps the fencing epoch and
   * returns the state to resume from. `initialSeq` seeds a source seen for
   * the first time (changes at or below it are not delivered).
   */
  async claimRelayState(sourceId: string, leader: string, initialSeq: number): Promise<RelayStateRecord> {
    await this.knex('tributary_relay_state')
      .insert({ source_id: sourceId, epoch: 0, watermark: initialSeq, high: initialSeq, holes: '[]', leader })
      .onConflict('source_id')
      .ignore();
    await this.knex('tributary_relay_state')
      .where({ source_id: sourceId })
      .update({ epoch: this.knex.raw('epoch + 1'), leader, updated_at: this.knex.fn.now(6) });
    const state = await this.loadRelayState(sourceId);
    if (!state) throw new Error(`relay state for ${sourceId} vanished while claiming it`);
    return state;
  }

  /** Saves the relay checkpoint only if `epoch` still leads (fencing); false means this relay was deposed. */
  async saveRelayState(sourceId: string, epoch: number, state: { watermark: number; high: number; holes: unknown }): Promise<boolean> {
    const updated = await this.knex('tributary_relay_state')
      .where({ source_id: sourceId, epoch })
      .update({
        watermark: state.watermark,
        high: state.high,
        holes: JSON.stringify(state.holes),
        updated_at: this.knex.fn.now(6),
      });
    return updated === 1;
  }

  /**
   * Mirrors a feed's target checkpoint after the target committed it. Only
   * ever moves forward, so a late or replayed job cannot move it back. A
   * partition's row is only ever updated: it exists from the moment its
   * partitions were cut, and a late job of an earlier cut must not bring a
   * row back that no partition has any more.
   */
  async recordApplied(
    feed: string,
    applied: { watermark: number; maxSeq: number; count: number; lastChangeTs: number | null; coveredMicros?: number | null },
  ): Promise<void> {
    const covered = applied.coveredMicros ?? null;
    const moved = {
      watermark: this.knex.raw('GREATEST(watermark, ?)', [applied.watermark]),
      ...(covered === null ? {} : { covered_micros: this.knex.raw('GREATEST(COALESCE(covered_micros, 0), ?)', [covered]) }),
      max_seq: this.knex.raw('GREATEST(max_seq, ?)', [applied.maxSeq]),
      applied_total: this.knex.raw('applied_total + ?', [applied.count]),
      last_change_ts: this.knex.raw('COALESCE(?, last_change_ts)', [applied.lastChangeTs]),
      last_applied_at: this.knex.fn.now(6),
      last_error: null,
      last_error_at: null,
      updated_at: this.knex.fn.now(6),
    };
    if (partitionOfFeed(feed)) {
      await this.knex('tributary_route_progress').where({ route_id: feed }).update(moved);
      return;
    }
    await this.knex('tributary_route_progress')
      .insert({
        route_id: feed,
        watermark: applied.watermark,
        max_seq: applied.maxSeq,
        applied_total: applied.count,
        last_change_ts: applied.lastChangeTs,
        last_applied_at: this.knex.fn.now(6),
        covered_micros: covered,
      })
      .onConflict('route_id')
      .merge(moved);
  }

  /**
   * Moves idle feeds' applied watermark up to `watermark` (never down): the
   * relay's word that each of them has applied everything of its own up to
   * there. Counts and times of the last apply are left as they are.
   */
  async advanceIdleRoutes(feeds: readonly string[], watermark: number, coveredMicros: number | null = null): Promise<void> {
    if (feeds.length === 0) return;
    await this.knex('tributary_route_progress')
      .whereIn('route_id', [...feeds])
      .andWhere('watermark', '<', watermark)
      .update({ watermark, updated_at: this.knex.fn.now(6) });
    if (coveredMicros !== null) {
      // Apart from the watermark: an idle route's coverage moves even when its watermark does not.
      await this.knex('tributary_route_progress')
        .whereIn('route_id', [...feeds])
        .andWhere((q) => q.whereNull('covered_micros').orWhere('covered_micros', '<', coveredMicros))
        .update({ covered_micros: coveredMicros });
    }
  }

  /** Why a feed's batch was not applied (cleared when the feed applies again). */
  async recordRouteError(feed: string, message: string): Promise<void> {
    if (partitionOfFeed(feed)) {
      await this.knex('tributary_route_progress').where({ route_id: feed }).update({ last_error: message, last_error_at: this.knex.fn.now(6), updated_at: this.knex.fn.now(6) });
      return;
    }
    await this.knex('tributary_route_progress')
      .insert({ route_id: feed, last_error: message, last_error_at: this.knex.fn.now(6) })
      .onConflict('route_id')
      .merge({ last_error: message, last_error_at: this.knex.fn.now(6), updated_at: this.knex.fn.now(6) });
  }

  /** The applied watermark of each of `feeds` that has a progress row. */
  async feedWatermarks(feeds: readonly string[]): Promise<Map<string, number>> {
    if (feeds.length === 0) return new Map();
    const rows = await this.knex('tributary_route_progress').select('route_id', 'watermark').whereIn('route_id', [...feeds]);
    return new Map(rows.map((row: { route_id: string; watermark: number | string }) => [row.route_id, Number(row.watermark)]));
  }

  /**
   * Each route's progress (of `routeIds`, or every route), a partitioned
   * route's taken over its current partitions (see RouteProgressRecord).
   * An id that names no route is read as an unpartitioned route's.
   */
  async listProgress(routeIds?: string[]): Promise<RouteProgressRecord[]> {
    const routes = this.knex('tributary_routes').select('id', 'partitions');
    if (routeIds) routes.whereIn('id', routeIds);
    const counts = new Map<string, number>((await routes).map((row: { id: string; partitions: number }) => [row.id, Number(row.partitions)]));
    for (const id of routeIds ?? []) if (!counts.has(id)) counts.set(id, 1);
    const feedsOf = new Map([...counts].map(([id, count]) => [id, feedIdsOf(id, count)]));
    const all = [...feedsOf.values()].flat();
    if (all.length === 0) return [];
    const rows = new Map((await this.knex('tributary_route_progress').whereIn('route_id', all)).map((row: ProgressRow) => [row.route_id, toFeedProgress(row)]));
    const progress: RouteProgressRecord[] = [];
    for (const [routeId, feeds] of [...feedsOf].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (feeds.length === 1) {
        const row = rows.get(feeds[0]);
        if (row) progress.push(row);
        continue;
      }
      const partitions = feeds.map((feed) => rows.get(feed)).filter((row): row is FeedProgressRecord => row !== undefined);
      if (partitions.length > 0) progress.push(combine(routeId, partitions, partitions.length === feeds.length));
    }
    return progress;
  }
}

interface ProgressRow {
  route_id: string;
  watermark: number | string;
  max_seq: number | string;
  applied_total: number | string;
  last_change_ts: number | string | null;
  last_applied_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  covered_micros: number | string | null;
}

function toFeedProgress(row: ProgressRow): FeedProgressRecord {
  return {
    routeId: row.route_id,
    watermark: Number(row.watermark),
    maxSeq: Number(row.max_seq),
    appliedTotal: Number(row.applied_total),
    lastChangeTs: row.last_change_ts === null ? null : Number(row.last_change_ts),
    lastAppliedAt: parseUtc(row.last_applied_at),
    lastError: row.last_error,
    lastErrorAt: parseUtc(row.last_error_at),
    coveredMicros: row.covered_micros === null ? null : Number(row.covered_micros),
  };
}

/** A partitioned route's progress from its partitions' (`complete`: every partition has a row; else its watermark is 0). */
function combine(routeId: string, partitions: FeedProgressRecord[], complete: boolean): RouteProgressRecord {
  const latest = <T>(values: Array<T | null>, order: (value: T) => number): T | null =>
    values.reduce<T | null>((best, value) => (value !== null && (best === null || order(value) > order(best)) ? value : best), null);
  const failing = latest(
    partitions.filter((p) => p.lastError !== null),
    (p) => p.lastErrorAt?.getTime() ?? 0,
  );
  return {
    routeId,
    watermark: complete ? Math.min(...partitions.map((p) => p.watermark)) : 0,
    maxSeq: Math.max(...partitions.map((p) => p.maxSeq)),
    appliedTotal: partitions.reduce((sum, p) => sum + p.appliedTotal, 0),
    lastChangeTs: latest(partitions.map((p) => p.lastChangeTs), (ts) => ts),
    lastAppliedAt: latest(partitions.map((p) => p.lastAppliedAt), (at) => at.getTime()),
    lastError: failing?.lastError ?? null,
    lastErrorAt: failing?.lastErrorAt ?? null,
    coveredMicros: complete && partitions.every((p) => p.coveredMicros !== null) ? Math.min(...partitions.map((p) => p.coveredMicros!)) : null,
    partitions,
  };
}

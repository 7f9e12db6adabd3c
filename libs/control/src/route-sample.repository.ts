import { Knex } from 'knex';
import { parseUtc } from './mysql-dates';

/** One route's status at one moment (tributary_route_samples). */
export interface RouteSample {
  routeId: string;
  at: Date;
  state: string;
  lagChanges: number | null;
  lagSeconds: number | null;
  appliedTotal: number;
  watermark: number;
}

/**
 * The sampled history of routes' status: one row per route and time bucket
 * (the first admin to write a bucket wins, so several admins write it once),
 * pruned past the retention the caller keeps.
 */
export class RouteSampleRepository {
  constructor(private readonly knex: Knex) {}

  /** Records the samples of one moment, all in the bucket of `at` (`bucketMs` long). */
  async record(samples: ReadonlyArray<Omit<RouteSample, 'at'>>, at: number, bucketMs: number): Promise<void> {
    if (samples.length === 0) return;
    const bucket = new Date(Math.floor(at / bucketMs) * bucketMs).toISOString().slice(0, 23).replace('T', ' ');
    const rows = samples.map((s) => ({
      route_id: s.routeId,
      at: bucket,
      state: s.state,
      lag_changes: s.lagChanges,
      lag_seconds: s.lagSeconds,
      applied_total: s.appliedTotal,
      watermark: s.watermark,
    }));
    for (let i = 0; i < rows.length; i += 500) await this.knex('tributary_route_samples').insert(rows.slice(i, i + 500)).onConflict(['route_id', 'at']).ignore();
  }

  /** Samples since `since` (of `routeIds`, or every route), oldest first per route. */
  async since(since: Date, routeIds?: readonly string[]): Promise<RouteSample[]> {
    const query = this.knex('tributary_route_samples').where('at', '>=', utc(since)).orderBy(['route_id', 'at']);
    if (routeIds) query.whereIn('route_id', [...routeIds]);
    return (await query).map((row: SampleRow) => ({
      routeId: row.route_id,
      at: parseUtc(row.at)!,
      state: row.state,
      lagChanges: row.lag_changes === null ? null : Number(row.lag_changes),
      lagSeconds: row.lag_seconds === null ? null : Number(row.lag_seconds),
      appliedTotal: Number(row.applied_total),
      watermark: Number(row.watermark),
    }));
  }

  /** Deletes samples older than `before`, at most `limit` rows; returns how many. */
  async prune(before: Date, limit: number): Promise<number> {
    return this.knex('tributary_route_samples').where('at', '<', utc(before)).limit(limit).delete();
  }
}

interface SampleRow {
  route_id: string;
  at: string;
  state: string;
  lag_changes: number | string | null;
  lag_seconds: number | null;
  applied_total: number | string;
  watermark: number | string;
}

/** A time as the control connection writes DATETIME(6) (UTC session). */
function utc(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}

import { Knex } from 'knex';
import { parseUtc } from './mysql-dates';
import { RelayStateRecord, RouteProgressRecord } from './types';

/** Replication progress: the relay's fenced checkpoint, per-route applied positions, dead letters. */
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
   * Mirrors a target checkpoint after the target committed it. Only ever
   * moves forward, so a late or replayed job cannot move it back.
   */
  async recordApplied(
    routeId: string,
    applied: { watermark: number; maxSeq: number; count: number; lastChangeTs: number | null },
  ): Promise<void> {
    await this.knex('tributary_route_progress')
      .insert({
        route_id: routeId,
        watermark: applied.watermark,
        max_seq: applied.maxSeq,
        applied_total: applied.count,
        last_change_ts: applied.lastChangeTs,
        last_applied_at: this.knex.fn.now(6),
      })
      .onConflict('route_id')
      .merge({
        watermark: this.knex.raw('GREATEST(watermark, VALUES(watermark))'),
        max_seq: this.knex.raw('GREATEST(max_seq, VALUES(max_seq))'),
        applied_total: this.knex.raw('applied_total + VALUES(applied_total)'),
        last_change_ts: this.knex.raw('COALESCE(VALUES(last_change_ts), last_change_ts)'),
        last_applied_at: this.knex.fn.now(6),
        last_error: null,
        last_error_at: null,
        updated_at: this.knex.fn.now(6),
      });
  }

  /**
   * Moves idle routes' applied watermark up to `watermark` (never down): the
   * relay's word that each of them has applied everything of its own up to
   * there. Counts and times of the last apply are left as they are.
   */
  async advanceIdleRoutes(routeIds: readonly string[], watermark: number): Promise<void> {
    if (routeIds.length === 0) return;
    await this.knex('tributary_route_progress')
      .whereIn('route_id', [...routeIds])
      .andWhere('watermark', '<', watermark)
      .update({ watermark, updated_at: this.knex.fn.now(6) });
  }

  async recordRouteError(routeId: string, message: string): Promise<void> {
    await this.knex('tributary_route_progress')
      .insert({ route_id: routeId, last_error: message, last_error_at: this.knex.fn.now(6) })
      .onConflict('route_id')
      .merge({ last_error: message, last_error_at: this.knex.fn.now(6), updated_at: this.knex.fn.now(6) });
  }

  async listProgress(routeIds?: string[]): Promise<RouteProgressRecord[]> {
    const query = this.knex('tributary_route_progress').orderBy('route_id');
    if (routeIds) query.whereIn('route_id', routeIds);
    return (await query).map((row) => ({
      routeId: row.route_id,
      watermark: Number(row.watermark),
      maxSeq: Number(row.max_seq),
      appliedTotal: Number(row.applied_total),
      lastChangeTs: row.last_change_ts === null ? null : Number(row.last_change_ts),
      lastAppliedAt: parseUtc(row.last_applied_at),
      lastError: row.last_error,
      lastErrorAt: parseUtc(row.last_error_at),
    }));
  }
}

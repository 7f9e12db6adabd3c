import { Knex } from 'knex';
import { parseUtc } from './mysql-dates';

export type SnapshotStatus = 'pending' | 'copying' | 'catching_up' | 'done' | 'failed' | 'cancelled';
export type SnapshotReason = 'initial' | 'resync';

/** Statuses a copier still works on. */
export const ACTIVE_SNAPSHOT_STATUSES: readonly SnapshotStatus[] = ['pending', 'copying', 'catching_up'];

/** One route's initial copy or re-sync, as stored (tributary_snapshots). */
export interface SnapshotRecord {
  routeId: string;
  status: SnapshotStatus;
  reason: SnapshotReason;
  requestedBy: string | null;
  /** Encoded key of the last row copied (null: nothing copied yet). */
  cursor: string | null;
  rowsCopied: number;
  chunks: number;
  rowsEstimated: number | null;
  lastSeq: number | null;
  finalSeq: number | null;
  error: string | null;
  requestedAt: Date;
  startedAt: Date | null;
  copiedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** Initial copies and re-syncs: requested by admin, advanced by the copier in the relay. */
export class SnapshotRepository {
  constructor(private readonly knex: Knex) {}

  /**
   * Asks for a copy of the route's rows. Refused (false) while one is still
   * running for the route; a finished, failed or cancelled one is replaced.
   */
  async request(routeId: string, reason: SnapshotReason, requestedBy: string | null): Promise<boolean> {
    return this.knex.transaction(async (trx) => {
      const existing = await trx('tributary_snapshots').where({ route_id: routeId }).forUpdate().first();
      if (existing && ACTIVE_SNAPSHOT_STATUSES.includes(existing.status)) return false;
      await trx('tributary_snapshots').where({ route_id: routeId }).delete();
      await trx('tributary_snapshots').insert({ route_id: routeId, status: 'pending', reason, requested_by: requestedBy });
      return true;
    });
  }

  async get(routeId: string): Promise<SnapshotRecord | null> {
    const row = await this.knex('tributary_snapshots').where({ route_id: routeId }).first();
    return row ? toRecord(row) : null;
  }

  async list(routeIds?: readonly string[]): Promise<SnapshotRecord[]> {
    const query = this.knex('tributary_snapshots').orderBy('route_id');
    if (routeIds) query.whereIn('route_id', [...routeIds]);
    return (await query).map(toRecord);
  }

  async listActive(routeIds: readonly string[]): Promise<SnapshotRecord[]> {
    if (routeIds.length === 0) return [];
    const rows = await this.knex('tributary_snapshots')
      .whereIn('route_id', [...routeIds])
      .whereIn('status', [...ACTIVE_SNAPSHOT_STATUSES])
      .orderBy('requested_at');
    return rows.map(toRecord);
  }

  async start(routeId: string, rowsEstimated: number): Promise<void> {
    await this.update(routeId, ['pending'], { status: 'copying', rows_estimated: rowsEstimated, started_at: this.knex.fn.now(6), error: null });
  }

  /** Records a finished chunk; false if the snapshot was cancelled (or replaced) meanwhile. */
  async recordChunk(routeId: string, chunk: { cursor: string | null; copied: number; lastSeq: number | null }): Promise<boolean> {
    return this.update(routeId, ['copying'], {
      cursor: chunk.cursor,
      rows_copied: this.knex.raw('rows_copied + ?', [chunk.copied]),
      chunks: this.knex.raw('chunks + 1'),
      ...(chunk.lastSeq !== null ? { last_seq: chunk.lastSeq } : {}),
      error: null,
    });
  }

  /** Every row is copied; the route now only has to apply up to `finalSeq`. */
  async finishCopying(routeId: string, finalSeq: number): Promise<boolean> {
    return this.update(routeId, ['copying'], { status: 'catching_up', final_seq: finalSeq, copied_at: this.knex.fn.now(6) });
  }

  async finish(routeId: string): Promise<boolean> {
    return this.update(routeId, ['catching_up'], { status: 'done', finished_at: this.knex.fn.now(6) });
  }

  /** A problem the copier retries (a locked chunk, the source away): shown, not final. */
  async recordError(routeId: string, message: string): Promise<void> {
    await this.update(routeId, ACTIVE_SNAPSHOT_STATUSES, { error: message });
  }

  /** A problem no retry fixes (the route's filter does not fit the table): the snapshot stops. */
  async fail(routeId: string, message: string): Promise<void> {
    await this.update(routeId, ACTIVE_SNAPSHOT_STATUSES, { status: 'failed', error: message, finished_at: this.knex.fn.now(6) });
  }

  async cancel(routeId: string, by: string | null): Promise<boolean> {
    return this.update(routeId, ACTIVE_SNAPSHOT_STATUSES, {
      status: 'cancelled',
      error: `cancelled${by ? ` by ${by}` : ''}`,
      finished_at: this.knex.fn.now(6),
    });
  }

  private async update(routeId: string, from: readonly SnapshotStatus[], values: Record<string, unknown>): Promise<boolean> {
    const updated = await this.knex('tributary_snapshots')
      .where({ route_id: routeId })
      .whereIn('status', [...from])
      .update({ ...values, updated_at: this.knex.fn.now(6) });
    return updated === 1;
  }
}

interface SnapshotRow {
  route_id: string;
  status: SnapshotStatus;
  reason: SnapshotReason;
  requested_by: string | null;
  cursor: string | null;
  rows_copied: number | string;
  chunks: number;
  rows_estimated: number | string | null;
  last_seq: number | string | null;
  final_seq: number | string | null;
  error: string | null;
  requested_at: string;
  started_at: string | null;
  copied_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

function toRecord(row: SnapshotRow): SnapshotRecord {
  const num = (value: number | string | null) => (value === null ? null : Number(value));
  return {
    routeId: row.route_id,
    status: row.status,
    reason: row.reason,
    requestedBy: row.requested_by,
    cursor: row.cursor,
    rowsCopied: Number(row.rows_copied),
    chunks: Number(row.chunks),
    rowsEstimated: num(row.rows_estimated),
    lastSeq: num(row.last_seq),
    finalSeq: num(row.final_seq),
    error: row.error,
    requestedAt: parseUtc(row.requested_at)!,
    startedAt: parseUtc(row.started_at),
    copiedAt: parseUtc(row.copied_at),
    finishedAt: parseUtc(row.finished_at),
    updatedAt: parseUtc(row.updated_at)!,
  };
}

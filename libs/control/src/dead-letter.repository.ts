import { Knex } from 'knex';
import { parseUtc } from './mysql-dates';
import { DeadLetterInput, DeadLetterRecord, DeadLetterStatus } from './types';

const TABLE = 'tributary_dead_letters';

/** A listing filter: one status, or every status. */
export type DeadLetterFilter = DeadLetterStatus | 'all';

/** How a discard went: the letter, or why it could not be discarded. */
export type DiscardOutcome =
  | { kind: 'discarded'; letter: DeadLetterRecord }
  | { kind: 'not-found' }
  | { kind: 'conflict'; status: DeadLetterStatus };

/** One letter resolved by a retry, with the note that says how. */
export interface RetryOutcome {
  id: number;
  note: string;
}

/**
 * Dead letters: changes a target refused for good, with the target's reason
 * (invariant 9). A letter is never deleted: it is retried (through the normal
 * apply path) or discarded by someone named, and keeps that record.
 *
 * Status moves: open → retrying (admin enqueued a retry job) → retried (the
 * worker applied it, or found it superseded) or back to open (refused again,
 * attempts + 1); open → discarded.
 */
export class DeadLetterRepository {
  constructor(private readonly knex: Knex) {}

  /**
   * Records refused changes. Keyed on (route, seq, row key): a change refused again
   * (a retry the target still refuses) reopens its letter with the new reason
   * and one more attempt; a discarded letter stays discarded.
   */
  async record(letters: DeadLetterInput[]): Promise<void> {
    if (letters.length === 0) return;
    const raw = (sql: string) => this.knex.raw(sql);
    await this.knex(TABLE)
      .insert(
        letters.map((letter) => ({
          route_id: letter.routeId,
          seq: letter.seq,
          row_key: letter.rowKey,
          table_name: letter.table,
          op: letter.op,
          change: JSON.stringify(letter.change),
          reason: letter.reason.slice(0, 65_000),
          code: letter.code,
        })),
      )
      .onConflict(['route_id', 'seq', 'row_key'])
      // MySQL evaluates these left to right: `status` must come last, the others read the old one.
      .merge({
        reason: raw('VALUES(reason)'),
        code: raw('VALUES(code)'),
        attempts: raw('attempts + 1'),
        resolved_at: raw("IF(status = 'discarded', resolved_at, NULL)"),
        resolved_by: raw("IF(status = 'discarded', resolved_by, NULL)"),
        resolution_note: raw("IF(status = 'discarded', resolution_note, NULL)"),
        status: raw("IF(status = 'discarded', status, 'open')"),
      });
  }

  /** A page of a route's letters in id order, after `afterId`. */
  async list(routeId: string, filter: { status: DeadLetterFilter; afterId?: number; limit: number }): Promise<DeadLetterRecord[]> {
    const query = this.knex(TABLE).where({ route_id: routeId }).orderBy('id').limit(filter.limit);
    if (filter.status !== 'all') query.where({ status: filter.status });
    if (filter.afterId !== undefined) query.where('id', '>', filter.afterId);
    return (await query).map(toRecord);
  }

  async get(routeId: string, id: number): Promise<DeadLetterRecord | null> {
    const row = await this.knex(TABLE).where({ route_id: routeId, id }).first();
    return row ? toRecord(row) : null;
  }

  /** Open ones in (seq, id) order after `after` (rows of a copy chunk share a seq): what "retry all" walks through. */
  async listOpenBySeq(routeId: string, after: { seq: number; id: number }, limit: number): Promise<DeadLetterRecord[]> {
    const rows = await this.knex(TABLE)
      .where({ route_id: routeId, status: 'open' })
      .andWhere((q) => q.where('seq', '>', after.seq).orWhere((same) => same.where('seq', after.seq).andWhere('id', '>', after.id)))
      .orderBy([{ column: 'seq' }, { column: 'id' }])
      .limit(limit);
    return rows.map(toRecord);
  }

  /** Letters waiting for a decision or a retry, per route (routes without any are absent). */
  async countUnresolved(): Promise<Map<string, { open: number; retrying: number }>> {
    const rows: Array<{ route_id: string; status: DeadLetterStatus; n: number | string }> = await this.knex(TABLE)
      .select('route_id', 'status')
      .count({ n: '*' })
      .whereIn('status', ['open', 'retrying'])
      .groupBy('route_id', 'status');
    const counts = new Map<string, { open: number; retrying: number }>();
    for (const row of rows) {
      const entry = counts.get(row.route_id) ?? { open: 0, retrying: 0 };
      if (row.status === 'open') entry.open = Number(row.n);
      else entry.retrying = Number(row.n);
      counts.set(row.route_id, entry);
    }
    return counts;
  }

  /**
   * Marks those of `ids` that are open as retrying (who asked, when, and the
   * job in `note`) and returns them in seq order. Letters that are not open
   * (any more) are left out, so two concurrent retries never both take one.
   */
  async claimForRetry(routeId: string, ids: readonly number[], claim: { actor: string; note: string }): Promise<DeadLetterRecord[]> {
    if (ids.length === 0) return [];
    return this.knex.transaction(async (trx) => {
      const open = await trx(TABLE).where({ route_id: routeId, status: 'open' }).whereIn('id', ids).orderBy('seq').forUpdate();
      if (open.length === 0) return [];
      const claimed = open.map((row) => row.id);
      await trx(TABLE)
        .whereIn('id', claimed)
        .update({ status: 'retrying', resolved_by: claim.actor, resolved_at: trx.fn.now(6), resolution_note: claim.note });
      return (await trx(TABLE).whereIn('id', claimed).orderBy('seq')).map(toRecord);
    });
  }

  /** Undoes a claim whose job could not be enqueued. */
  async releaseClaim(ids: readonly number[], note: string): Promise<void> {
    if (ids.length === 0) return;
    await this.knex(TABLE)
      .whereIn('id', ids)
      .where({ status: 'retrying', resolution_note: note })
      .update({ status: 'open', resolved_by: null, resolved_at: null, resolution_note: null });
  }

  /**
   * Re-points retrying letters from a lost job to a new one (compare-and-set
   * on the old note, so two admins never both re-enqueue a letter). Returns
   * the letters now carrying `newNote`, in seq order.
   */
  async reclaim(ids: readonly number[], oldNote: string, newNote: string): Promise<DeadLetterRecord[]> {
    if (ids.length === 0) return [];
    await this.knex(TABLE)
      .whereIn('id', ids)
      .where({ status: 'retrying', resolution_note: oldNote })
      .update({ resolved_at: this.knex.fn.now(6), resolution_note: newNote });
    const rows = await this.knex(TABLE).whereIn('id', ids).where({ status: 'retrying', resolution_note: newNote }).orderBy('seq');
    return rows.map(toRecord);
  }

  /** Retrying letters whose retry was requested more than `olderThanSeconds` ago. */
  async staleRetrying(olderThanSeconds: number, limit: number): Promise<DeadLetterRecord[]> {
    const rows = await this.knex(TABLE)
      .where({ status: 'retrying' })
      .andWhere('resolved_at', '<', this.knex.raw('NOW(6) - INTERVAL ? SECOND', [olderThanSeconds]))
      .orderBy('id')
      .limit(limit);
    return rows.map(toRecord);
  }

  /**
   * The worker applied a retry job: its letters are resolved. An 'open' one
   * is resolved too — the same job may have been refused once, reopened, and
   * then gone through when BullMQ ran it again.
   */
  async resolveRetried(outcomes: readonly RetryOutcome[]): Promise<void> {
    const byNote = new Map<string, number[]>();
    for (const { id, note } of outcomes) byNote.set(note, [...(byNote.get(note) ?? []), id]);
    for (const [note, ids] of byNote) {
      await this.knex(TABLE)
        .whereIn('id', ids)
        .whereIn('status', ['retrying', 'open'])
        .update({ status: 'retried', resolved_at: this.knex.fn.now(6), resolution_note: note });
    }
  }

  /** Only an open letter can be discarded: a retrying one is in flight, a retried or discarded one is settled. */
  async discard(routeId: string, id: number, by: { actor: string; reason: string }): Promise<DiscardOutcome> {
    return this.knex.transaction(async (trx) => {
      const row = await trx(TABLE).where({ route_id: routeId, id }).forUpdate().first();
      if (!row) return { kind: 'not-found' as const };
      if (row.status !== 'open') return { kind: 'conflict' as const, status: row.status as DeadLetterStatus };
      await trx(TABLE)
        .where({ id })
        .update({ status: 'discarded', resolved_by: by.actor, resolved_at: trx.fn.now(6), resolution_note: by.reason });
      const updated = await trx(TABLE).where({ id }).first();
      return { kind: 'discarded' as const, letter: toRecord(updated) };
    });
  }
}

interface DeadLetterRow {
  id: number | string;
  route_id: string;
  seq: number | string;
  table_name: string;
  op: string;
  change: string;
  reason: string;
  code: string | null;
  status: DeadLetterStatus;
  attempts: number | string;
  created_at: string;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

function toRecord(row: DeadLetterRow): DeadLetterRecord {
  return {
    id: Number(row.id),
    routeId: row.route_id,
    seq: Number(row.seq),
    table: row.table_name,
    op: row.op,
    change: JSON.parse(row.change),
    reason: row.reason,
    code: row.code,
    status: row.status,
    attempts: Number(row.attempts),
    createdAt: parseUtc(row.created_at) ?? new Date(0),
    resolvedAt: parseUtc(row.resolved_at),
    resolvedBy: row.resolved_by,
    resolutionNote: row.resolution_note,
  };
}

import { createHash } from 'node:crypto';
import { Knex } from 'knex';
import { WireChange } from '@tributary/model';
import { parseUtc } from './mysql-dates';

const TABLE = 'tributary_conflicts';
/** Rows per INSERT, and key hashes per IN list: well under max_allowed_packet and the placeholder limit. */
const CHUNK = 500;
/** TEXT holds 65,535 bytes. */
const MAX_REASON_BYTES = 65_000;

export const DEFAULT_CONFLICT_PAGE = 100;
export const MAX_CONFLICT_PAGE = 1000;

/** What the incoming change expected that did not hold: the row was there, was different, or was gone. */
export type ConflictKind = 'exists' | 'mismatch' | 'missing';

/**
 * What the policy did with the change ('parked': nothing yet, a person
 * decides; 'refused': the resolver failed, the change became a dead letter).
 */
export type ConflictDecision = 'applied' | 'kept' | 'merged' | 'written' | 'deleted' | 'parked' | 'refused';

/**
 * resolved: decided automatically by the policy, or by a person;
 * open: parked (manual policy), waiting for a person;
 * resolving: a person's decision is queued for the worker.
 */
export type ConflictStatus = 'open' | 'resolving' | 'resolved';

/** A person's decision on a parked conflict. */
export type ConflictResolution = 'apply-source' | 'keep-target' | 'merge';

/** A listing filter: one status, or every status. */
export type ConflictFilter = ConflictStatus | 'all';

/** A row in JSON-safe form: Buffers as {"$b64": base64}, as the caller converted them. */
export type JsonRow = Record<string, unknown>;

/** One conflict the worker detected, as it records it. */
export interface ConflictInput {
  routeId: string;
  /** The change's outbox seq: with the route, what makes recording idempotent. */
  seq: number;
  /** Source table. */
  table: string;
  op: string;
  kind: ConflictKind;
  /** Canonical JSON of the target key (@tributary/model keyText over the target key columns). */
  keyText: string;
  /** sha1 hex of keyText (conflictKeyHash); computed when absent. */
  keyHash?: string;
  /** The resolution that decided (source-wins, target-wins, newer-wins, manual, custom...). */
  policy: string;
  decision: ConflictDecision;
  reason: string;
  incomingBefore: JsonRow | null;
  incomingAfter: JsonRow | null;
  targetRow: JsonRow | null;
  resultRow: JsonRow | null;
  /** The change as delivered, to re-apply a parked one. */
  change: WireChange;
}

/** A conflict as stored (never deleted). */
export interface ConflictRecord {
  id: number;
  routeId: string;
  seq: number;
  table: string;
  op: string;
  kind: ConflictKind;
  keyText: string;
  keyHash: string;
  policy: string;
  decision: ConflictDecision;
  reason: string;
  incomingBefore: JsonRow | null;
  incomingAfter: JsonRow | null;
  targetRow: JsonRow | null;
  resultRow: JsonRow | null;
  change: WireChange;
  /** 'open' exactly when the decision is 'parked' and nobody has decided yet. */
  status: ConflictStatus;
  /** A person's decision only (null for automatic ones): who asked for it... */
  resolvedBy: string | null;
  /** ...when (resolving: when it was asked for; resolved: when it was carried out)... */
  resolvedAt: Date | null;
  /** ...what... */
  resolution: ConflictResolution | null;
  /** ...and, for 'merge', the row (target columns) written. */
  resolutionRow: JsonRow | null;
  createdAt: Date;
}

export interface ConflictListOptions {
  /** Default: every status. */
  status?: ConflictFilter;
  decision?: ConflictDecision;
  kind?: ConflictKind;
  /** Default 100, at most 1000. */
  limit?: number;
  /** Only conflicts with a smaller id (the last id of the previous page). */
  beforeId?: number;
}

/** A person's decision, as claimed by admin or carried out by the worker. */
export interface ConflictDecisionInput {
  actor: string;
  action: ConflictResolution;
  /** The merged row (target columns) for 'merge'; null otherwise. */
  row: JsonRow | null;
}

/** The key hash stored with a conflict: sha1 hex of the key text. */
export function conflictKeyHash(keyText: string): string {
  return createHash('sha1').update(keyText).digest('hex');
}

/**
 * The conflict log (issue #6): every change whose expectation about the
 * target row did not hold, and how it was resolved — automatically by the
 * route's policy, or by a named person for a parked (manual) one. Nothing is
 * deleted.
 *
 * Status moves: resolved (automatic decision); open (parked) → resolving
 * (a person's apply-source/merge is queued) → resolved (the worker carried it
 * out) or back to open (the job could not be queued); open → resolved
 * (keep-target, at once).
 */
export class ConflictRepository {
  constructor(private readonly knex: Knex) {}

  /**
   * Records conflicts. Idempotent on (route, seq): a batch retried after its
   * target transaction failed records the same conflicts again, and the first
   * record stays as it was.
   */
  async record(inputs: readonly ConflictInput[]): Promise<void> {
    for (let i = 0; i < inputs.length; i += CHUNK) {
      const rows = inputs.slice(i, i + CHUNK).map((input) => ({
        route_id: input.routeId,
        seq: input.seq,
        table_name: input.table,
        op: input.op,
        kind: input.kind,
        key_text: input.keyText,
        key_hash: input.keyHash ?? conflictKeyHash(input.keyText),
        policy: input.policy,
        decision: input.decision,
        reason: truncateBytes(input.reason, MAX_REASON_BYTES),
        incoming_before: toJson(input.incomingBefore),
        incoming_after: toJson(input.incomingAfter),
        target_row: toJson(input.targetRow),
        result_row: toJson(input.resultRow),
        change: JSON.stringify(input.change),
        status: input.decision === 'parked' ? 'open' : 'resolved',
      }));
      await this.knex(TABLE).insert(rows).onConflict(['route_id', 'seq']).ignore();
    }
  }

  /** Those of `keyHashes` with an open or resolving conflict on the route: later changes of these keys are parked too. */
  async openKeys(routeId: string, keyHashes: readonly string[]): Promise<Set<string>> {
    const open = new Set<string>();
    const unique = [...new Set(keyHashes)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows: Array<{ key_hash: string }> = await this.knex(TABLE)
        .distinct('key_hash')
        .where({ route_id: routeId })
        .whereIn('status', ['open', 'resolving'])
        .whereIn('key_hash', unique.slice(i, i + CHUNK));
      for (const row of rows) open.add(row.key_hash);
    }
    return open;
  }

  /** A page of a route's conflicts, newest first. */
  async list(routeId: string, options: ConflictListOptions = {}): Promise<ConflictRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? DEFAULT_CONFLICT_PAGE), 1), MAX_CONFLICT_PAGE);
    const query = this.knex(TABLE).where({ route_id: routeId }).orderBy('id', 'desc').limit(limit);
    const status = options.status ?? 'all';
    if (status !== 'all') query.where({ status });
    if (options.decision !== undefined) query.where({ decision: options.decision });
    if (options.kind !== undefined) query.where({ kind: options.kind });
    if (options.beforeId !== undefined) query.where('id', '<', options.beforeId);
    return (await query).map(toRecord);
  }

  async get(id: number): Promise<ConflictRecord | null> {
    const row = await this.knex(TABLE).where({ id }).first();
    return row ? toRecord(row) : null;
  }

  /** Open (parked, undecided) conflicts per route; routes without any are absent. */
  async countOpen(routeIds?: readonly string[]): Promise<Map<string, number>> {
    const query = this.knex(TABLE).select('route_id').count({ n: '*' }).where({ status: 'open' }).groupBy('route_id');
    if (routeIds !== undefined) {
      if (routeIds.length === 0) return new Map();
      query.whereIn('route_id', [...routeIds]);
    }
    const rows = (await query) as Array<{ route_id: string; n: number | string }>;
    return new Map(rows.map((row) => [row.route_id, Number(row.n)]));
  }

  /** The open conflicts of one key of a route, in seq order. */
  async openForKey(routeId: string, keyHash: string): Promise<ConflictRecord[]> {
    const rows = await this.knex(TABLE).where({ route_id: routeId, key_hash: keyHash, status: 'open' }).orderBy('seq');
    return rows.map(toRecord);
  }

  /**
   * Moves those of `ids` still open to resolving, with who asked, when and
   * what, and returns them in seq order. Those not open (any more) are left
   * out, so two concurrent decisions never both take one.
   */
  async claimForResolution(ids: readonly number[], decision: ConflictDecisionInput): Promise<ConflictRecord[]> {
    if (ids.length === 0) return [];
    return this.knex.transaction(async (trx) => {
      const open: Array<{ id: number | string }> = await trx(TABLE).select('id').where({ status: 'open' }).whereIn('id', [...ids]).forUpdate();
      if (open.length === 0) return [];
      const claimed = open.map((row) => row.id);
      await trx(TABLE)
        .whereIn('id', claimed)
        .where({ status: 'open' })
        .update({
          status: 'resolving',
          resolved_by: decision.actor,
          resolved_at: trx.fn.now(6),
          resolution: decision.action,
          resolution_row: toJson(decision.row),
        });
      return (await trx(TABLE).whereIn('id', claimed).orderBy('seq')).map(toRecord);
    });
  }

  /** Undoes a claim whose job could not be queued: resolving → open, the decision forgotten. */
  async releaseClaim(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.knex(TABLE)
      .whereIn('id', [...ids])
      .where({ status: 'resolving' })
      .update({ status: 'open', resolved_by: null, resolved_at: null, resolution: null, resolution_row: null });
  }

  /**
   * Marks those of `ids` that are resolving or open (or only those in
   * `from`) resolved by `decision.actor` now, and returns them in seq order.
   * The worker calls it after carrying out a queued decision; admin calls it
   * with from ['open'] for keep-target. `note` is not stored (the log has no
   * column for it): callers log it.
   */
  async resolve(
    ids: readonly number[],
    decision: ConflictDecisionInput & { note?: string; from?: ReadonlyArray<'open' | 'resolving'> },
  ): Promise<ConflictRecord[]> {
    if (ids.length === 0) return [];
    const from = [...(decision.from ?? ['open', 'resolving'])];
    return this.knex.transaction(async (trx) => {
      const pending: Array<{ id: number | string }> = await trx(TABLE).select('id').whereIn('status', from).whereIn('id', [...ids]).forUpdate();
      if (pending.length === 0) return [];
      const taken = pending.map((row) => row.id);
      await trx(TABLE)
        .whereIn('id', taken)
        .update({
          status: 'resolved',
          resolved_by: decision.actor,
          resolved_at: trx.fn.now(6),
          resolution: decision.action,
          resolution_row: toJson(decision.row),
        });
      return (await trx(TABLE).whereIn('id', taken).orderBy('seq')).map(toRecord);
    });
  }
}

interface ConflictRow {
  id: number | string;
  route_id: string;
  seq: number | string;
  table_name: string;
  op: string;
  kind: ConflictKind;
  key_text: string;
  key_hash: string;
  policy: string;
  decision: ConflictDecision;
  reason: string;
  incoming_before: string | null;
  incoming_after: string | null;
  target_row: string | null;
  result_row: string | null;
  change: string;
  status: ConflictStatus;
  resolved_by: string | null;
  resolved_at: string | null;
  resolution: ConflictResolution | null;
  resolution_row: string | null;
  created_at: string;
}

function toRecord(row: ConflictRow): ConflictRecord {
  return {
    id: Number(row.id),
    routeId: row.route_id,
    seq: Number(row.seq),
    table: row.table_name,
    op: row.op,
    kind: row.kind,
    keyText: row.key_text,
    keyHash: row.key_hash,
    policy: row.policy,
    decision: row.decision,
    reason: row.reason,
    incomingBefore: fromJson(row.incoming_before),
    incomingAfter: fromJson(row.incoming_after),
    targetRow: fromJson(row.target_row),
    resultRow: fromJson(row.result_row),
    change: JSON.parse(row.change) as WireChange,
    status: row.status,
    resolvedBy: row.resolved_by,
    resolvedAt: parseUtc(row.resolved_at),
    resolution: row.resolution,
    resolutionRow: fromJson(row.resolution_row),
    createdAt: parseUtc(row.created_at) ?? new Date(0),
  };
}

function toJson(row: JsonRow | null | undefined): string | null {
  return row === null || row === undefined ? null : JSON.stringify(row);
}

function fromJson(text: string | null): JsonRow | null {
  return text === null ? null : (JSON.parse(text) as JsonRow);
}

/** Cuts `text` to at most `max` UTF-8 bytes, never inside a character. */
function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  let cut = Buffer.from(text, 'utf8').subarray(0, max).toString('utf8');
  // A character cut in half decodes as U+FFFD: drop it.
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut;
}

import { ConflictDecision, ConflictInput, conflictKeyHash, ConflictRepository, DeadLetterRepository, RouteRecord } from '@tributary/control';
import { Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { jsonSafeRow, keyText, Row, RowChange, TargetTableSpec, WireChange } from '@tributary/model';
import { ConflictKind, ConflictPolicy, decide, Decision, deletionWins, detectConflict, valuesEqual } from '@tributary/replication';
import { CurrentRows } from '@tributary/targets';
import { CustomResolver } from './custom-resolvers';
import { deadLetterOf } from './dead-letter-input';

/** One route's conflict handling for one target table shape (see RouteConsumer). */
export interface ConflictSetup {
  /** With `column` translated to the target's column name. */
  policy: ConflictPolicy;
  spec: TargetTableSpec;
  /** Target columns compared (computed columns set by the change are not). */
  compared: string[];
  /** The route's custom resolver, for policy 'custom'. */
  custom: CustomResolver | null;
}

export interface ConflictDeps {
  conflicts: ConflictRepository;
  deadLetters: DeadLetterRepository;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Detects and resolves conflicts of one batch (ApplyHooks.resolveConflicts):
 * each fresh change, in seq order, against the target's current row of its
 * key — as this batch leaves it, so a second change of a row meets the first
 * one's outcome. Every conflict is recorded before the target commits; a
 * change parked for a person holds back the later changes of its row (order
 * per row is kept) while every other row goes on.
 */
export async function resolveConflicts(
  route: RouteRecord,
  setup: ConflictSetup,
  changes: RowChange[],
  current: CurrentRows,
  wireBySeq: ReadonlyMap<number, WireChange>,
  deps: ConflictDeps,
): Promise<RowChange[]> {
  const { spec } = setup;
  const textOf = (key: Row) => keyText(spec.key, key);
  const rows = new Map<string, Row | null>();
  const rowAt = (key: Row) => (rows.has(textOf(key)) ? rows.get(textOf(key))! : current.get(key));
  const parked = await deps.conflicts.openKeys(
    route.id,
    changes.map((change) => conflictKeyHash(textOf(relevantKey(spec, change)))),
  );

  const out: RowChange[] = [];
  const records: ConflictInput[] = [];
  const refused: Array<{ wire: WireChange; reason: string }> = [];
  for (const change of changes) {
    const key = relevantKey(spec, change);
    const wire = wireBySeq.get(change.seq)!;
    const target = rowAt(key);
    const hash = conflictKeyHash(textOf(key));
    const record = (kind: ConflictKind, decision: ConflictDecision, reason: string, result: Row | null): void => {
      records.push({
        routeId: route.id,
        seq: change.seq,
        table: route.table,
        op: change.op,
        kind,
        keyText: textOf(key),
        keyHash: hash,
        policy: setup.policy.resolution,
        decision,
        reason,
        incomingBefore: jsonRow(change.before),
        incomingAfter: jsonRow(change.after),
        targetRow: jsonRow(target),
        resultRow: jsonRow(result),
        change: wire,
      });
    };

    if (parked.has(hash)) {
      // An earlier change of this row waits for a person: this one waits with it, in order.
      record(change.op === 'insert' ? 'exists' : 'mismatch', 'parked', 'an earlier change of this row is parked for a decision; this one waits behind it', null);
      continue;
    }
    const deleted = target === null && !rows.has(textOf(key)) ? current.deleted(key) : [];
    const deletedWins = deletionWins({ change, deleted, policy: setup.policy, columns: spec.columns, compared: setup.compared });
    if (deletedWins) {
      // The target deleted this row after the incoming version was written: it stays deleted (the other nodes agree).
      record('missing', 'kept', deletedWins, null);
      continue;
    }
    const kind = detectConflict(change, target, setup.policy.detect, setup.policy.column, setup.compared);
    if (kind === null) {
      const clean = setup.policy.detect === 'changed' ? changedColumnsOnly(change, target, setup.compared) : change;
      out.push(clean);
      settle(rows, textOf, spec, clean);
      continue;
    }
    let decided: { decision: Decision | { action: 'delete' }; reason: string };
    try {
      decided = setup.custom
        ? await setup.custom.decide({ route: route.id, source: route.sourceId, table: route.table, seq: change.seq, kind, op: change.op, key, incoming: { before: change.before, after: change.after }, target })
        : decide({ change, target, kind, policy: setup.policy, columns: spec.columns, compared: setup.compared });
    } catch (error) {
      // Never a silent drop: the change becomes a dead letter with the resolver's error.
      const reason = `conflict (${kind}) not resolved: ${(error as Error).message}`;
      refused.push({ wire, reason });
      record(kind, 'refused', reason, null);
      continue;
    }
    const applied = applyDecision(spec, change, target, kind, decided.decision);
    record(kind, applied.decision, decided.reason, applied.result);
    if (applied.decision === 'parked') parked.add(hash);
    if (applied.change) {
      out.push(applied.change);
      settle(rows, textOf, spec, applied.change);
    }
  }

  if (refused.length > 0) {
    await deps.deadLetters.record(
      refused.map(({ wire, reason }) => deadLetterOf(route.id, route.table, wire, reason, null)),
    );
  }
  // Durable before the target commits, like dead letters; recording again after a retried batch changes nothing.
  await deps.conflicts.record(records);
  for (const r of records) {
    deps.metrics.conflicts.inc({ route: route.id, decision: r.decision });
    deps.logger.info({ seq: r.seq, kind: r.kind, decision: r.decision, key: r.keyText }, `conflict: ${r.reason}`);
  }
  return out;
}

/**
 * Detecting on changed columns only means the target may have changed the
 * others: an update writes just the columns it changes over the target's
 * row, so those edits are kept rather than silently overwritten.
 */
function changedColumnsOnly(change: RowChange, target: Row | null, compared: readonly string[]): RowChange {
  if (change.op !== 'update' || !target || !change.before || !change.after) return change;
  const after: Row = { ...target };
  for (const name of Object.keys(change.after)) {
    if (!compared.includes(name) || !valuesEqual(change.before[name], change.after[name])) after[name] = change.after[name];
  }
  return { ...change, after };
}

/**
 * What a resolution depends on: the fresh changes and the target's rows of
 * their keys. The same batch retried row by row (after a refused row) with
 * the same signature reuses its resolution instead of running resolvers and
 * counting conflicts twice.
 */
export function conflictSignature(spec: TargetTableSpec, changes: readonly RowChange[], current: CurrentRows): string {
  return JSON.stringify(
    changes.map((change) => {
      const key = relevantKey(spec, change);
      const target = current.get(key);
      return [change.seq, jsonRow(target), target ? null : current.deleted(key).map(jsonRow)];
    }),
  );
}

/** The row a change's expectation is about: the after image's key for an insert, the before image's otherwise. */
function relevantKey(spec: TargetTableSpec, change: RowChange): Row {
  const image = change.op === 'insert' ? change.after : change.before;
  return image ? pick(image, spec.key) : change.key;
}

/** What a decision does to the change, and the row the target ends with. */
function applyDecision(
  spec: TargetTableSpec,
  change: RowChange,
  target: Row | null,
  kind: ConflictKind,
  decision: Decision | { action: 'delete' },
): { decision: ConflictDecision; change: RowChange | null; result: Row | null } {
  switch (decision.action) {
    case 'keep':
      return { decision: 'kept', change: null, result: target };
    case 'park':
      return { decision: 'parked', change: null, result: target };
    case 'delete': {
      const key = target ? pick(target, spec.key) : relevantKey(spec, change);
      return { decision: 'deleted', change: { seq: change.seq, op: 'delete', key, before: target, after: null, ...originOf(change) }, result: null };
    }
    case 'write': {
      const row = { ...(target ?? {}), ...decision.row };
      const written: RowChange = { seq: change.seq, op: target ? 'update' : 'insert', key: pick(row, spec.key), before: target, after: row, ...originOf(change) };
      return { decision: kind === 'mismatch' && change.op === 'update' ? 'merged' : 'written', change: written, result: row };
    }
    case 'apply':
      if (change.op === 'delete') {
        // A delete of a row the target does not have deletes nothing, but goes on: a target that
        // remembers deletions remembers it, so the row's late insert does not bring it back.
        return { decision: 'applied', change, result: null };
      }
      if (change.op === 'update' && kind === 'missing') {
        // The row is gone at the target: the update brings it back whole.
        return { decision: 'applied', change: { ...change, op: 'insert', before: null, key: pick(change.after!, spec.key) }, result: change.after };
      }
      return { decision: 'applied', change, result: change.after };
  }
}

/** A forwarded change's origin (RowChange.origin), for a change made anew from it. */
function originOf(change: RowChange): Pick<RowChange, 'origin'> {
  return change.origin === undefined ? {} : { origin: change.origin };
}

/** Records what this batch did to a row, for the batch's later changes of it. */
function settle(rows: Map<string, Row | null>, textOf: (key: Row) => string, spec: TargetTableSpec, change: RowChange): void {
  if (change.before) rows.set(textOf(pick(change.before, spec.key)), null);
  if (change.op === 'delete') rows.set(textOf(change.key), null);
  if (change.after) rows.set(textOf(pick(change.after, spec.key)), change.after);
}

function pick(row: Row, key: readonly string[]): Row {
  return Object.fromEntries(key.map((name) => [name, row[name] ?? null]));
}

/** Rows as the conflict log stores them: JSON-safe (bytes as {"$b64": …}). */
function jsonRow(row: Row | null): Record<string, unknown> | null {
  return row ? jsonSafeRow(row) : null;
}

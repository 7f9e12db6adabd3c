import { ColumnSpec, Op, Row, Value } from '@tributary/model';
import { compareDecimal } from '../filter/decimal';
import { ConflictKind, rowsEqual, valuesEqual } from './detect';
import { ConflictPolicy } from './policy';

export type Decision =
  | { action: 'apply' } // write the incoming change (an update of a missing row: insert its after image; a delete of a missing row: nothing to do)
  | { action: 'keep' } // the target row stays as it is
  | { action: 'write'; row: Row } // write this row (a merge)
  | { action: 'park' }; // manual: hold the change for a person

/**
 * The decision of a built-in resolution (not custom: the caller runs custom
 * resolvers) with a one-line human reason.
 *
 * source-wins → apply; target-wins → keep; manual → park; custom → throws.
 *
 * newer-wins on column c: every change stands for (version, row contents,
 * delete or not), and the greater wins, compared the same way on every node
 * whoever sent the change, so any number of leaders end with the same row:
 * - insert 'exists' / update 'mismatch': after[c] against target[c]; the newer
 *   wins; on a tie, the row whose contents sort after the other's
 *   (contentOrder), so two nodes replicating to each other — or any number
 *   of them — keep the same row.
 * - update 'missing' → apply (insert the after image): an update wins over a
 *   concurrent delete, since a delete leaves no version to compare.
 * - delete 'missing' → apply (nothing to delete; a target that remembers
 *   deletions remembers this one).
 * - delete 'mismatch': before[c] (what the deleter saw) against target[c]: the
 *   target is newer → keep (the row was changed after the deleter read it;
 *   the other node resurrects it too, as update 'missing' applies there), the
 *   deleter saw a newer version than the target → apply; on a tie the delete
 *   wins unless the target row's contents sort after the deleted row's (a
 *   delete outranks the very row it deleted, as deletionWins agrees).
 * - merge (update 'mismatch' only): column by column from the target row —
 *   columns only the change changed take the incoming value, columns both
 *   changed take the row-level winner's value, the version column the greater
 *   of the two; 'keep' or 'apply' when the merge equals one side on `compared`,
 *   else 'write' with the merged row.
 *
 * @throws for custom, or newer-wins without a (known) version column.
 */
export function decide(input: {
  change: { op: Op; before: Row | null; after: Row | null };
  target: Row | null;
  kind: ConflictKind;
  /** With `column` already translated to the TARGET column name by the caller. */
  policy: ConflictPolicy;
  /** Target columns (for the order of the version column's type). */
  columns: readonly ColumnSpec[];
  compared: readonly string[];
}): { decision: Decision; reason: string } {
  const { change, target, kind, policy, columns, compared } = input;
  switch (policy.resolution) {
    case 'source-wins':
      return { decision: APPLY, reason: `source-wins: ${describe(change.op, kind)}, the incoming change is applied` };
    case 'target-wins':
      return { decision: KEEP, reason: `target-wins: ${describe(change.op, kind)}, the target row is kept` };
    case 'manual':
      return { decision: PARK, reason: `manual: ${describe(change.op, kind)}, the change is held for a person` };
    case 'custom':
      throw new Error(`custom resolution (resolver ${JSON.stringify(policy.resolver)}) is run by the caller, not decide()`);
    case 'newer-wins':
      break;
  }

  const name = policy.column;
  if (name === null) throw new Error('newer-wins needs a timestamp or version column');
  const spec = columns.find((c) => c.name === name);
  if (!spec) throw new Error(`newer-wins: the version column ${JSON.stringify(name)} is not a target column`);
  const on = `newer-wins on ${name}`;

  if (kind === 'missing') {
    if (change.op === 'update') {
      return { decision: APPLY, reason: `${on}: the target has no row to update (deleted concurrently?); an update wins over a delete, its row is inserted` };
    }
    if (change.op === 'delete') return { decision: APPLY, reason: `${on}: the target has no row to delete; nothing to do` };
    return { decision: APPLY, reason: `${on}: the target has no row; the incoming row is inserted` };
  }

  const current = need(target, `a ${kind} conflict needs the target row`);
  if (change.op === 'delete') {
    const before = need(change.before, 'a delete needs its before image');
    const seen = before[name] ?? null;
    const now = current[name] ?? null;
    const order = compareValues(seen, now, spec);
    if (order < 0) return { decision: KEEP, reason: `${on}: the target's ${show(now)} is newer than the deleted row's ${show(seen)}; the target row is kept` };
    if (order === 0) {
      return contentOrder(current, before, compared) > 0
        ? { decision: KEEP, reason: `${on}: tie at ${show(now)}, the target row sorts after the deleted one; the target row is kept` }
        : { decision: APPLY, reason: `${on}: tie at ${show(now)}, the deleted row sorts after (or is) the target's; the row is deleted` };
    }
    return { decision: APPLY, reason: `${on}: the deleted row's ${show(seen)} is newer than the target's ${show(now)}; the row is deleted` };
  }

  const after = need(change.after, `an ${change.op} needs its after image`);
  const incoming = after[name] ?? null;
  const now = current[name] ?? null;
  const order = compareValues(incoming, now, spec);
  const incomingSortsAfter = contentOrder(after, current, compared) > 0;
  const incomingWins = order > 0 || (order === 0 && incomingSortsAfter);
  const why =
    order > 0
      ? `incoming ${show(incoming)} is newer than the target's ${show(now)}`
      : order < 0
        ? `the target's ${show(now)} is newer than incoming ${show(incoming)}`
        : `tie at ${show(now)}, the ${incomingSortsAfter ? 'incoming' : "target's"} row sorts after the other`;

  if (policy.merge && change.op === 'update') {
    const before = need(change.before, 'an update needs its before image');
    const changed = compared.filter((c) => !valuesEqual(before[c], after[c]));
    const targetChanged = new Set(compared.filter((c) => !valuesEqual(current[c], before[c])));
    const merged: Row = { ...current };
    const taken: string[] = [];
    for (const c of changed) {
      if (!targetChanged.has(c) || incomingWins) {
        merged[c] = after[c] ?? null;
        if (c !== name) taken.push(c);
      }
    }
    merged[name] = compareValues(incoming, now, spec) >= 0 ? incoming : now;
    if (rowsEqual(merged, current, compared)) return { decision: KEEP, reason: `${on} (merge): ${why}; the merge keeps the target row` };
    if (rowsEqual(merged, after, compared)) return { decision: APPLY, reason: `${on} (merge): ${why}; the merge equals the incoming row` };
    return { decision: { action: 'write', row: merged }, reason: `${on} (merge): ${why}; incoming ${taken.join(', ') || 'nothing'} merged into the target row` };
  }

  return incomingWins
    ? { decision: APPLY, reason: `${on}: ${why}; the incoming row wins` }
    : { decision: KEEP, reason: `${on}: ${why}; the target row is kept` };
}

/**
 * newer-wins against the deletions the target remembers of a row it does not
 * have (CurrentRows.deleted: its own writers' last delete, two-way, and the
 * last delete Tributary applied there, three or more leaders), compared by
 * the version each delete saw (its before image's column), then contents:
 * - an insert or update older than the newest deletion leaves the row
 *   deleted (the node that deleted it decides the same, delete 'mismatch');
 *   at the same version it stays deleted unless its contents sort after the
 *   deleted row's (the very row the deleter saw arriving late stays
 *   deleted), as decide() breaks that tie on every node;
 * - a delete not after the newest deletion has nothing left to do, and must
 *   not replace the later deletion the target remembers.
 * Returns the reason when the remembered deletion wins, null when the
 * incoming change goes on to the usual detection.
 */
export function deletionWins(input: {
  change: { op: Op; before: Row | null; after: Row | null };
  deleted: readonly Row[];
  /** With `column` already translated to the TARGET column name. */
  policy: ConflictPolicy;
  columns: readonly ColumnSpec[];
  compared: readonly string[];
}): string | null {
  const { change, deleted, policy, columns, compared } = input;
  if (policy.resolution !== 'newer-wins' || policy.column === null || deleted.length === 0) return null;
  const spec = columns.find((c) => c.name === policy.column);
  if (!spec) return null;
  // (version, contents): the order every node puts rows and deletions in.
  const order = (a: Row, b: Row) => compareValues(a[spec.name] ?? null, b[spec.name] ?? null, spec) || contentOrder(a, b, compared);
  const newest = deleted.reduce((a, b) => (order(b, a) > 0 ? b : a));
  const gone = show(newest[spec.name] ?? null);
  const on = `newer-wins on ${spec.name}`;
  if (change.op === 'delete') {
    if (!change.before || order(change.before, newest) > 0) return null;
    return `${on}: the target has no row to delete and remembers deleting it at ${gone}, not before this delete's ${show(change.before[spec.name] ?? null)}; nothing to do`;
  }
  if (!change.after || order(change.after, newest) > 0) return null;
  const incoming = change.after[spec.name] ?? null;
  if (compareValues(incoming, newest[spec.name] ?? null, spec) < 0) return `${on}: the target deleted this row at ${gone}, after incoming ${show(incoming)}; the row stays deleted`;
  return `${on}: tie at ${gone} with the row the target deleted, which sorts after (or is) the incoming one; the row stays deleted`;
}

/**
 * The tie-break of newer-wins: orders two rows by their compared columns'
 * values (text of each in turn), the same on every node whoever holds which.
 */
export function contentOrder(a: Row, b: Row, compared: readonly string[]): number {
  for (const name of compared) {
    const x = contentText(a[name]);
    const y = contentText(b[name]);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function contentText(value: Value | undefined): string {
  if (value === null || value === undefined) return '';
  if (Buffer.isBuffer(value)) return `b${value.toString('hex')}`;
  return `${typeof value === 'number' ? 'n' : 's'}${String(value)}`;
}

/**
 * Orders two values of one column: negative, 0 or positive. null sorts
 * first; int/float/double/year as numbers; bigint/decimal exactly
 * (compareDecimal); date/datetime/timestamp as text (fixed width, so text
 * order is time order; trailing fractional zeros are ignored, so another fsp
 * still compares right); time by sign and magnitude (may be negative or
 * beyond 24h).
 *
 * @throws for types without an order (string, binary, json, ...) and for values not of the column's type.
 */
export function compareValues(a: Value, b: Value, column: ColumnSpec): number {
  const x = a ?? null;
  const y = b ?? null;
  if (x === null || y === null) return x === y ? 0 : x === null ? -1 : 1;
  switch (column.type) {
    case 'int':
    case 'float':
    case 'double':
    case 'year': {
      const p = number(x, column);
      const q = number(y, column);
      return p === q ? 0 : p < q ? -1 : 1;
    }
    case 'bigint':
    case 'decimal':
      return compareDecimal(decimal(x, column), decimal(y, column));
    case 'date':
    case 'datetime':
    case 'timestamp': {
      const p = dateTime(text(x, column));
      const q = dateTime(text(y, column));
      return p === q ? 0 : p < q ? -1 : 1;
    }
    case 'time':
      return compareTime(text(x, column), text(y, column));
    default:
      throw new Error(`column ${JSON.stringify(column.name)} is of type ${column.dataType || column.type}, which has no order`);
  }
}

const APPLY: Decision = { action: 'apply' };
const KEEP: Decision = { action: 'keep' };
const PARK: Decision = { action: 'park' };

function describe(op: Op, kind: ConflictKind): string {
  switch (kind) {
    case 'exists':
      return `the ${op} found a different row under its key`;
    case 'mismatch':
      return `the target row changed since the source read it (${op})`;
    case 'missing':
      return `the target has no row for the ${op}`;
  }
}

function show(value: Value): string {
  if (value === null) return 'NULL';
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex')}`;
  return String(value);
}

function need(row: Row | null, message: string): Row {
  if (row === null) throw new Error(message);
  return row;
}

function bad(value: Value, column: ColumnSpec): Error {
  return new Error(`column ${JSON.stringify(column.name)} (${column.type}): cannot order ${Buffer.isBuffer(value) ? 'binary' : JSON.stringify(value)}`);
}

function number(value: Value, column: ColumnSpec): number {
  if (typeof value === 'number' && !Number.isNaN(value)) return value;
  throw bad(value, column);
}

function decimal(value: Value, column: ColumnSpec): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw bad(value, column);
}

function text(value: Value, column: ColumnSpec): string {
  if (typeof value === 'string') return value;
  throw bad(value, column);
}

/** Drops trailing fractional zeros (and a bare '.'), so '…:05.500000' and '…:05.5' and '…:05' vs '…:05.000' compare equal. */
function dateTime(value: string): string {
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}

const TIME = /^(-)?(\d+):(\d{2}):(\d{2})(?:\.(\d*))?$/;

function compareTime(a: string, b: string): number {
  const x = parseTime(a);
  const y = parseTime(b);
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  let magnitude = x.hours - y.hours || x.minutes - y.minutes || x.seconds - y.seconds;
  if (magnitude === 0 && x.fraction !== y.fraction) magnitude = x.fraction < y.fraction ? -1 : 1;
  return Math.sign(x.negative ? -magnitude : magnitude);
}

function parseTime(value: string): { negative: boolean; hours: number; minutes: number; seconds: number; fraction: string } {
  const match = TIME.exec(value);
  if (!match) throw new Error(`not a time: ${JSON.stringify(value)}`);
  const hours = Number(match[2]);
  const minutes = Number(match[3]);
  const seconds = Number(match[4]);
  const fraction = (match[5] ?? '').replace(/0+$/, '');
  const zero = hours === 0 && minutes === 0 && seconds === 0 && fraction === '';
  return { negative: match[1] === '-' && !zero, hours, minutes, seconds, fraction };
}

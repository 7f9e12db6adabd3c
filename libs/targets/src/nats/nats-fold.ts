import { Row, TargetTableSpec } from '@tributary/model';
import { TargetConfigError } from '../errors';
import { ChangeEvent } from '../events/change-event';
import { fromWireRow, JsonValue } from '../http/http-wire';
import { keyIdentity as rowKeyIdentity } from '../key-cursor';
import { compareByKey } from '../row-order';

type WireRow = Record<string, JsonValue>;

const OPS = new Set(['insert', 'update', 'delete']);

/**
 * A table's events folded into rows, as a consumer that upserts each event's
 * after image and deletes on a delete event keeps them: per key (the event's
 * `key`, names and values), the last event in stream order decides whether
 * the row exists, and an upsert merges its after image over the row it
 * finds, so a change carrying an older table shape (fewer columns) leaves
 * the other columns as they were — as an upsert into a SQL table does.
 *
 * Stream order per key is seq order: the target publishes a change only if
 * it is newer than the key's last event (nats-guard.ts). Rows are kept in
 * their wire forms and decoded for each reader's spec (rowsFor).
 *
 * Incremental: `seq` is the last stream sequence folded in, so a later read
 * folds only the messages after it.
 */
export class TableFold {
  /** The last stream sequence folded in (0: none). */
  seq = 0;
  /** The stream's last sequence when the fold was last brought up to date: unchanged, nothing new to read. */
  streamSeq = -1;
  /** Moves whenever a row changes, so rowsFor's cache knows when to decode again. */
  private version = 0;
  private readonly rows = new Map<string, WireRow>();
  private decoded: { version: number; spec: string; rows: Row[]; byKey: Map<string, Row> | null } | null = null;

  /**
   * @param firstSeq the stream's first sequence when the fold began: if it
   *   moves (messages purged), the fold is stale and is built again.
   */
  constructor(readonly firstSeq: number) {}

  /** Folds in one message's event (`seq`: its stream sequence). */
  add(seq: number, event: ChangeEvent): void {
    this.seq = seq;
    this.version += 1;
    const identity = keyIdentity(event.key);
    if (event.op === 'delete') {
      this.rows.delete(identity);
      return;
    }
    this.rows.set(identity, { ...(this.rows.get(identity) ?? {}), ...(event.after ?? {}) });
  }

  /**
   * The rows as `spec` reads them, in key order: its columns decoded from
   * the wire forms (binary from base64; a column the row never had is
   * NULL). A row without a value for one of the spec's key columns (written
   * before a key column was renamed: rows keep the names they were written
   * with) cannot be named by this spec and is left out. Cached until the
   * fold changes.
   */
  rowsFor(spec: TargetTableSpec): Row[] {
    const signature = JSON.stringify([spec.key, spec.columns.map((c) => [c.name, c.type])]);
    if (this.decoded?.version === this.version && this.decoded.spec === signature) return this.decoded.rows;
    const rows: Row[] = [];
    for (const wire of this.rows.values()) {
      if (spec.key.some((name) => wire[name] === undefined || wire[name] === null)) continue;
      const row = fromWireRow(spec.columns, wire);
      for (const column of spec.columns) row[column.name] ??= null;
      rows.push(row);
    }
    rows.sort(compareByKey(spec.key));
    this.decoded = { version: this.version, spec: signature, rows, byKey: null };
    return rows;
  }

  /** rowsFor(spec) by key (key-cursor.ts's keyIdentity), for lookups; cached with it. */
  rowsByKey(spec: TargetTableSpec): Map<string, Row> {
    const rows = this.rowsFor(spec);
    const decoded = this.decoded!;
    decoded.byKey ??= new Map(rows.map((row) => [rowKeyIdentity(spec, row), row]));
    return decoded.byKey;
  }
}

/** A key as one string: names and values, whatever order the event listed them in. */
export function keyIdentity(key: Record<string, JsonValue>): string {
  return JSON.stringify(
    Object.keys(key)
      .sort()
      .map((name) => [name, key[name]]),
  );
}

/**
 * A stored message's payload as a change event of version 1, or a
 * TargetConfigError naming it: a message of another version or another
 * publisher cannot be folded, and skipping it would hide rows from verify.
 */
export function parseEvent(payload: Uint8Array, where: string): ChangeEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw notAnEvent(where, 'it is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw notAnEvent(where, 'it is not a JSON object');
  const event = parsed as Partial<ChangeEvent>;
  if (event.v !== 1) throw notAnEvent(where, `its version is ${JSON.stringify(event.v)}, not 1`);
  if (typeof event.op !== 'string' || !OPS.has(event.op)) throw notAnEvent(where, 'it has no op');
  if (typeof event.key !== 'object' || event.key === null) throw notAnEvent(where, 'it has no key');
  if (event.op !== 'delete' && (typeof event.after !== 'object' || event.after === null)) throw notAnEvent(where, 'it has no after image');
  return event as ChangeEvent;
}

function notAnEvent(where: string, why: string): TargetConfigError {
  return new TargetConfigError(`nats target: ${where} is not a change event this target can read (${why})`);
}

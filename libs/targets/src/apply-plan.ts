import { keyHash, Row, RowChange, TargetTableSpec } from '@tributary/model';
import { RejectedChange } from './target';

/**
 * Pure batch planning, shared by every target that keeps per-row versions.
 * No I/O here: a batch of changes becomes at most one write per key, and the
 * per-row guard (invariant 4) is a function of the stored versions.
 */

/** One row write at the target: the last change of its key in the batch. */
export interface PlannedWrite {
  kind: 'upsert' | 'delete';
  seq: number;
  /** keyHash(table, key, row): names the row in the version table. */
  keyHash: string;
  /** Key column values of the row written or deleted. */
  key: Row;
  /** Full row for an upsert; null for a delete. */
  row: Row | null;
  /** The change this write comes from (an update that moves its key gives two writes). */
  change: RowChange;
}

/** What the target holds for a row: the seq that last wrote it and whether that was a delete. */
export interface StoredVersion {
  seq: number;
  deleted: boolean;
}

export interface GuardedPlan {
  /** Writes newer than the target's rows: deletes first, then upserts in seq order. */
  writes: PlannedWrite[];
  /** Writes the target already holds at the same or a newer seq. */
  skipped: PlannedWrite[];
}

export interface BatchPlan {
  /** At most one write per key, in seq order. */
  writes: PlannedWrite[];
  /** Changes that cannot name a row (no after image, a key column missing): refused before any I/O. */
  invalid: RejectedChange[];
}

/**
 * Turns a batch into one write per key. An update that changes the key is a
 * delete of the old key plus an upsert of the new one with the same seq; then
 * only the last write of each key, in seq order, is kept.
 */
export function planBatch(table: TargetTableSpec, changes: readonly RowChange[]): BatchPlan {
  // Invariant 5: per-key order is seq order, even if a caller hands us a shuffled batch.
  const ordered = [...changes].sort((a, b) => a.seq - b.seq);
  const last = new Map<string, PlannedWrite>();
  const invalid: RejectedChange[] = [];
  for (const change of ordered) {
    let writes: PlannedWrite[];
    try {
      writes = writesOf(table, change);
    } catch (error) {
      if (!(error instanceof InvalidChangeError)) throw error;
      invalid.push({ change, reason: error.message, code: null });
      continue;
    }
    for (const write of writes) {
      last.delete(write.keyHash);
      last.set(write.keyHash, write);
    }
  }
  return { writes: [...last.values()].sort((a, b) => a.seq - b.seq), invalid };
}

class InvalidChangeError extends Error {}

function writesOf(table: TargetTableSpec, change: RowChange): PlannedWrite[] {
  if (change.op === 'delete') {
    const key = pick(table, change.key, change);
    return [{ kind: 'delete', seq: change.seq, keyHash: keyHash(table.name, table.key, key), key, row: null, change }];
  }
  if (!change.after) throw new InvalidChangeError(`${change.op} at seq ${change.seq} has no after image`);
  const key = pick(table, change.after, change);
  const upsert: PlannedWrite = {
    kind: 'upsert',
    seq: change.seq,
    keyHash: keyHash(table.name, table.key, key),
    key,
    row: change.after,
    change,
  };
  if (change.op === 'update' && change.before) {
    const oldKey = pick(table, change.before, change);
    // Most updates keep their key: equal values need no second SHA-1 (equal values, equal keyText).
    if (sameValues(table.key, oldKey, key)) return [upsert];
    const oldHash = keyHash(table.name, table.key, oldKey);
    if (oldHash !== upsert.keyHash) {
      return [{ kind: 'delete', seq: change.seq, keyHash: oldHash, key: oldKey, row: null, change }, upsert];
    }
  }
  return [upsert];
}

/**
 * Whether a change moves its row to another key (an update whose images have
 * different key values): it writes two keys. Values equal only by keyHash
 * (e.g. 1 and 1.0) count as a move here, which errs on the safe side.
 */
export function movesKey(table: TargetTableSpec, change: RowChange): boolean {
  if (change.op !== 'update' || !change.before || !change.after) return false;
  return !sameValues(table.key, change.before, change.after);
}

/** True only if every key value is identical (bytes for binary); anything else is left to keyHash. */
function sameValues(names: readonly string[], a: Row, b: Row): boolean {
  for (const name of names) {
    const x = a[name];
    const y = b[name];
    if (x === y) continue;
    if (!Buffer.isBuffer(x) || !Buffer.isBuffer(y) || !x.equals(y)) return false;
  }
  return true;
}

function pick(table: TargetTableSpec, row: Row, change: RowChange): Row {
  const key: Row = {};
  for (const name of table.key) {
    const value = row[name];
    if (value === undefined || value === null) {
      throw new InvalidChangeError(`change at seq ${change.seq} has no value for key column ${name}`);
    }
    key[name] = value;
  }
  return key;
}

/**
 * Invariant 4: a write goes through only if its seq is newer than the stored
 * one. A tombstone counts like any version, so a late older insert cannot
 * bring a deleted row back. With `reapply` (retrying dead letters) a write at
 * exactly the stored seq goes through too: a refused row's version was
 * recorded with its own seq. Older writes are skipped either way.
 */
export function guardPlan(
  plan: readonly PlannedWrite[],
  stored: ReadonlyMap<string, StoredVersion>,
  options: { reapply?: boolean } = {},
): GuardedPlan {
  const deletes: PlannedWrite[] = [];
  const upserts: PlannedWrite[] = [];
  const skipped: PlannedWrite[] = [];
  for (const write of plan) {
    const version = stored.get(write.keyHash);
    const current = version && (options.reapply ? version.seq > write.seq : version.seq >= write.seq);
    if (current) skipped.push(write);
    else (write.kind === 'delete' ? deletes : upserts).push(write);
  }
  return { writes: [...deletes, ...upserts], skipped };
}

/**
 * The same split when the target ran the guard itself (VersionProtocol
 * 'claim'): `won` holds the key hashes whose version the batch moved, by the
 * same rule as guardPlan; every other write is skipped.
 */
export function claimedPlan(plan: readonly PlannedWrite[], won: ReadonlySet<string>): GuardedPlan {
  const deletes: PlannedWrite[] = [];
  const upserts: PlannedWrite[] = [];
  const skipped: PlannedWrite[] = [];
  for (const write of plan) {
    if (!won.has(write.keyHash)) skipped.push(write);
    else (write.kind === 'delete' ? deletes : upserts).push(write);
  }
  return { writes: [...deletes, ...upserts], skipped };
}

/** The row an upsert writes. */
export function writtenRow(write: PlannedWrite): Row {
  if (!write.row) throw new Error(`upsert at seq ${write.seq} has no row`);
  return write.row;
}

/** Splits a list into chunks of at most `size` items. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

import { Op, Row, Value } from '@tributary/model';
import { DetectMode } from './policy';

/**
 * exists: an insert found a different row under its key;
 * mismatch: an update or delete found the row changed since the source read it;
 * missing: an update or delete found no row.
 */
export type ConflictKind = 'exists' | 'mismatch' | 'missing';

/**
 * Whether a change conflicts with the row the target holds now. All rows are
 * TARGET-space rows; `compared` lists the columns to compare (without
 * computed columns that depend on the change); `column` is the version
 * column's target name (used by mode 'version' only).
 *
 * `target`: the row the target holds now for the change's key — for insert the after image's key, for update/delete the before image's key (the caller looks it up), null if none.
 * insert: target null → no conflict; target equal to `after` on `compared` (or, mode version, equal on column) → none (already there); else 'exists'.
 * update: target null → 'missing'; target already equal to `after` on compared → none (someone made the same change: converged); else all: before vs target on compared; changed: only columns where before !== after (compare with valuesEqual); version: before[column] vs target[column]; equal → none, else 'mismatch'.
 * delete: target null → 'missing'; else like update's before comparison per mode → none or 'mismatch'.
 */
export function detectConflict(
  change: { op: Op; before: Row | null; after: Row | null },
  target: Row | null,
  detect: DetectMode,
  column: string | null,
  compared: readonly string[],
): ConflictKind | null {
  if (detect === 'version' && column === null) throw new Error('detect "version" needs the version column');
  switch (change.op) {
    case 'insert': {
      const after = need(change.after, 'an insert needs its after image');
      if (target === null) return null;
      const same = detect === 'version' ? valuesEqual(after[column!], target[column!]) : rowsEqual(after, target, compared);
      return same ? null : 'exists';
    }
    case 'update': {
      const before = need(change.before, 'an update needs its before image');
      const after = need(change.after, 'an update needs its after image');
      if (target === null) return 'missing';
      if (rowsEqual(after, target, compared)) return null;
      return sawTarget(before, after, target, detect, column, compared) ? null : 'mismatch';
    }
    case 'delete': {
      const before = need(change.before, 'a delete needs its before image');
      if (target === null) return 'missing';
      return sawTarget(before, null, target, detect, column, compared) ? null : 'mismatch';
    }
  }
}

/** Whether the target still holds what the source saw before the change, as far as the mode looks. */
function sawTarget(before: Row, after: Row | null, target: Row, detect: DetectMode, column: string | null, compared: readonly string[]): boolean {
  switch (detect) {
    case 'all':
      return rowsEqual(before, target, compared);
    case 'changed': {
      // A delete changes every column.
      const changed = after === null ? compared : compared.filter((c) => !valuesEqual(before[c], after[c]));
      return rowsEqual(before, target, changed);
    }
    case 'version':
      return valuesEqual(before[column!], target[column!]);
  }
}

/** Equal on every column of `columns` (valuesEqual). */
export function rowsEqual(a: Row, b: Row, columns: readonly string[]): boolean {
  return columns.every((c) => valuesEqual(a[c], b[c]));
}

/** Buffers by bytes; null/undefined equal; numbers ===; strings ===. Values of different kinds differ. */
export function valuesEqual(a: Value | undefined, b: Value | undefined): boolean {
  const x = a ?? null;
  const y = b ?? null;
  if (x === null || y === null) return x === y;
  if (Buffer.isBuffer(x) || Buffer.isBuffer(y)) return Buffer.isBuffer(x) && Buffer.isBuffer(y) && x.equals(y);
  return x === y;
}

function need(row: Row | null, message: string): Row {
  if (row === null) throw new Error(message);
  return row;
}

import { Op, Row } from '@tributary/model';

/** The parts of a change the filter decides on (RowChange of @tributary/targets has this shape). */
export interface FilterableChange {
  seq: number;
  op: Op;
  key: Row;
  before: Row | null;
  after: Row | null;
}

/**
 * Move semantics of a row filter: the target holds "source rows that match,
 * now". An update that makes a row match inserts it; one that makes it stop
 * matching deletes it (by its key before the update, which is the row the
 * target has, even if the update also changed the key); a change that
 * matches neither before nor after is dropped.
 *
 * Dropping a delete whose row never matched is only an optimisation: the
 * target does not have that row. Returns null for a dropped change.
 */
export function applyFilter<C extends FilterableChange>(change: C, matches: (row: Row) => boolean, key: readonly string[]): C | null {
  const before = change.before !== null && matches(change.before);
  const after = change.after !== null && matches(change.after);
  switch (change.op) {
    case 'insert':
      return after ? change : null;
    case 'delete':
      return before ? change : null;
    case 'update':
      if (before && after) return change;
      if (after) return { ...change, op: 'insert', before: null, key: pick(change.after!, key) };
      if (before) return { ...change, op: 'delete', after: null, key: pick(change.before!, key) };
      return null;
  }
}

function pick(row: Row, key: readonly string[]): Row {
  return Object.fromEntries(key.map((name) => [name, row[name] ?? null]));
}

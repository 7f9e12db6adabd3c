import { createHash } from 'node:crypto';
import { ColumnSpec, keyText, Row, Value } from '@tributary/model';

/**
 * Values compared across kinds of database. Every target decodes its rows to
 * the value forms of @tributary/model (the same as a decoded source row), so
 * the comparison is on those forms, never on an engine's native encoding;
 * what is left to normalise is what an engine legitimately changes without
 * changing the data: the text of a JSON document (PostgreSQL's jsonb reorders
 * keys and drops spacing).
 */

/** How one target table's rows are compared. */
export interface RowComparison {
  /** Target key columns. */
  key: readonly string[];
  /** Compared columns, in a fixed order (target columns minus the ignored ones). */
  columns: readonly string[];
  /** Columns whose values are JSON documents: compared as data. */
  json: ReadonlySet<string>;
}

export function rowComparison(columns: readonly ColumnSpec[], key: readonly string[], ignored: ReadonlySet<string>): RowComparison {
  return {
    key,
    columns: columns.map((c) => c.name).filter((name) => !ignored.has(name)),
    json: new Set(columns.filter((c) => c.type === 'json').map((c) => c.name)),
  };
}

/** A value as JSON-safe data that is equal for equal values: bytes as base64, JSON documents parsed with sorted keys. */
export function canonicalValue(value: Value | undefined, json: boolean): unknown {
  if (value === undefined || value === null) return null;
  if (Buffer.isBuffer(value)) return { $b64: value.toString('base64') };
  if (json && typeof value === 'string') {
    try {
      // Numbers beyond a double's precision compare rounded here (a difference in the 17th digit goes unseen).
      return { $json: sortKeys(JSON.parse(value)) };
    } catch {
      return value; // not a JSON document after all: compare the text
    }
  }
  return value;
}

/** A row's compared columns as one text: equal texts mean equal rows. */
export function canonicalRow(comparison: RowComparison, row: Row): string {
  return JSON.stringify(comparison.columns.map((name) => canonicalValue(row[name], comparison.json.has(name))));
}

/** The row's key as text (the same text the targets use to name a row in their version table). */
export function rowKeyText(comparison: RowComparison, row: Row): string {
  return keyText(comparison.key, row);
}

/**
 * A checksum over a set of rows that does not depend on the order they were
 * read in: sha256 over (key text, row text) pairs sorted by key text. Two
 * sides with the same checksum hold the same rows; only a chunk whose
 * checksums differ is compared row by row.
 */
export function rowsChecksum(comparison: RowComparison, rows: readonly Row[]): string {
  const entries = rows.map((row) => [rowKeyText(comparison, row), canonicalRow(comparison, row)] as const);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256');
  for (const [key, text] of entries) hash.update(key).update('\t').update(text).update('\n');
  return hash.digest('hex');
}

/** The compared columns whose values differ between two rows of one key. */
export function differingColumns(comparison: RowComparison, expected: Row, actual: Row): string[] {
  return comparison.columns.filter((name) => {
    const json = comparison.json.has(name);
    return JSON.stringify(canonicalValue(expected[name], json)) !== JSON.stringify(canonicalValue(actual[name], json));
  });
}

/** A row as JSON-safe data for reports and the control schema: bytes as {"$b64": …}. */
export function jsonRow(row: Row): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([name, value]) => [name, Buffer.isBuffer(value) ? { $b64: value.toString('base64') } : value]));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

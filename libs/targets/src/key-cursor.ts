import { Row, TargetTableSpec, Value } from '@tributary/model';
import { TargetConfigError } from './errors';

/**
 * What readRowsByKeys and scanRows share across targets: the scan cursor (a
 * row's key values as JSON), key identity, and argument checks.
 */

/** Keys per statement (or pipeline) in readRowsByKeys: well within every driver's parameter limit. */
export const KEYS_PER_READ = 500;

/** A key value as JSON: bytes as `{"$b64": …}`, so a binary key comes back as the same Buffer. */
type KeyJson = string | number | { $b64: string };

/**
 * The cursor after `row`: its key values in key-column order, as JSON. Numbers
 * keep every digit (JSON writes a double's shortest round-trip form), strings
 * and bytes are exact, so `WHERE key > ?` binds exactly the value read.
 */
export function encodeKeyCursor(table: TargetTableSpec, row: Row): string {
  return JSON.stringify(table.key.map((name) => keyJson(table, name, row[name])));
}

/** The key row a cursor from encodeKeyCursor names; anything else is refused (it can never work). */
export function decodeKeyCursor(table: TargetTableSpec, cursor: string): Row {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    throw badCursor(table);
  }
  if (!Array.isArray(parsed) || parsed.length !== table.key.length) throw badCursor(table);
  const key: Row = {};
  table.key.forEach((name, i) => (key[name] = keyValue(table, parsed[i])));
  return key;
}

/** A string that is equal for two keys exactly when their values are (type included): for dedupe and lookups. */
export function keyIdentity(table: TargetTableSpec, row: Row): string {
  return encodeKeyCursor(table, row);
}

/** `keys` without repeats, so no batch boundary can return a row twice. */
export function uniqueKeys(table: TargetTableSpec, keys: readonly Row[]): Row[] {
  const seen = new Map<string, Row>();
  for (const key of keys) seen.set(keyIdentity(table, key), key);
  return [...seen.values()];
}

/** `items` in slices of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let at = 0; at < items.length; at += size) result.push(items.slice(at, at + size));
  return result;
}

/** A scan page size: a positive integer (a zero page could never make progress). */
export function checkScanLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new TargetConfigError(`scanRows: limit must be a positive integer, not ${limit}`);
  return limit;
}

function keyJson(table: TargetTableSpec, name: string, value: Value | undefined): KeyJson {
  if (Buffer.isBuffer(value)) return { $b64: value.toString('base64') };
  // Key columns are NOT NULL; a non-finite number would not survive JSON.
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw new TargetConfigError(`table ${table.name}: key column ${name} has no usable value`);
}

function keyValue(table: TargetTableSpec, json: unknown): Value {
  if (typeof json === 'string' || typeof json === 'number') return json;
  if (typeof json === 'object' && json !== null && typeof (json as { $b64?: unknown }).$b64 === 'string') {
    return Buffer.from((json as { $b64: string }).$b64, 'base64');
  }
  throw badCursor(table);
}

function badCursor(table: TargetTableSpec): TargetConfigError {
  return new TargetConfigError(`scanRows: the cursor is not one of table ${table.name}`);
}

import { hash } from 'node:crypto';
import { ColumnSpec, Row, TableSchema, Value } from './schema';

/**
 * Decodes the JSON images that the capture triggers write into typed values.
 * The wire form per type is fixed by the trigger generator (libs/capture);
 * this is its only reader.
 */
export class ImageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

export function decodeImage(schema: TableSchema, text: string | null): Row | null {
  if (text === null) return null;
  const raw = JSON.parse(text) as Record<string, unknown>;
  const row: Row = {};
  for (const column of schema.columns) {
    if (!(column.name in raw)) {
      throw new ImageDecodeError(`image of ${schema.table} has no column ${column.name} (schema ${schema.hash})`);
    }
    row[column.name] = decodeValue(column, raw[column.name]);
  }
  return row;
}

/** Decodes a key image, which carries only the key columns. */
export function decodeKey(schema: TableSchema, text: string): Row {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const row: Row = {};
  for (const name of schema.key) {
    const column = schema.columns.find((c) => c.name === name);
    if (!column) throw new ImageDecodeError(`key column ${name} is not in schema ${schema.hash}`);
    row[name] = decodeValue(column, raw[name]);
  }
  return row;
}

export function decodeValue(column: ColumnSpec, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (column.type) {
    case 'int':
    case 'year':
    case 'double':
    case 'float':
      return expectNumber(column, raw);
    case 'bigint':
    case 'decimal':
    case 'date':
    case 'datetime':
    case 'time':
    case 'string':
    case 'enum':
    case 'set':
    case 'json':
      return expectString(column, raw);
    case 'timestamp':
      return epochToUtc(expectString(column, raw), column.fsp ?? 0);
    case 'binary':
      return Buffer.from(expectString(column, raw), 'base64');
    case 'bit':
      return expectString(column, raw).padStart(column.length ?? 1, '0');
  }
}

function expectNumber(column: ColumnSpec, raw: unknown): number {
  if (typeof raw !== 'number') throw new ImageDecodeError(`${column.name}: expected a number, got ${typeof raw}`);
  return raw;
}

function expectString(column: ColumnSpec, raw: unknown): string {
  if (typeof raw !== 'string') throw new ImageDecodeError(`${column.name}: expected a string, got ${typeof raw}`);
  return raw;
}

/**
 * TIMESTAMP columns are captured as UNIX_TIMESTAMP(col) so the writer's
 * session time zone cannot leak into the image. Converted here, exactly, to
 * a UTC datetime string with the column's fractional digits.
 */
export function epochToUtc(epoch: string, fsp: number): string {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(epoch);
  if (!match) throw new ImageDecodeError(`timestamp: not an epoch value: ${epoch}`);
  const seconds = Number(match[1]);
  const date = new Date(seconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const base =
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  if (fsp <= 0) return base;
  const fraction = (match[2] ?? '').padEnd(fsp, '0').slice(0, fsp);
  return `${base}.${fraction}`;
}

/**
 * A canonical, type-stable text for a row key: equal keys give equal text on
 * every target, so it can name the row in the per-row version table.
 */
export function keyText(key: readonly string[], row: Row): string {
  return JSON.stringify(key.map((name) => canonical(row[name] ?? null)));
}

export function keyHash(table: string, key: readonly string[], row: Row): string {
  // One-shot hash: half the cost of a Hash object per key, the same digest.
  return hash('sha1', `${table}\0${keyText(key, row)}`, 'hex');
}

function canonical(value: Value): string | number | null {
  if (Buffer.isBuffer(value)) return 'b64:' + value.toString('base64');
  return value;
}

/**
 * The inverse of decodeValue: a decoded value back to the wire form the
 * triggers write, for change records Tributary itself writes (a repair's
 * delete of a key the source no longer has).
 */
export function encodeValue(column: ColumnSpec, value: Value): unknown {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (column.type === 'timestamp') return utcToEpoch(String(value));
  return value;
}

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC → seconds since the epoch with the same fraction digits. */
export function utcToEpoch(utc: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(utc);
  if (!match) throw new ImageDecodeError(`timestamp: not a UTC datetime: ${utc}`);
  const [, y, mo, d, h, mi, s, fraction] = match;
  const seconds = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) / 1000;
  return fraction ? `${seconds}.${fraction}` : String(seconds);
}

/** A key row as the JSON key image the triggers write (`pk` of a change record). */
export function encodeKeyImage(schema: TableSchema, key: Row): string {
  const image: Record<string, unknown> = {};
  for (const name of schema.key) {
    const column = schema.columns.find((c) => c.name === name);
    if (!column) throw new ImageDecodeError(`key column ${name} is not in schema ${schema.hash}`);
    image[name] = encodeValue(column, key[name] ?? null);
  }
  return JSON.stringify(image);
}

/**
 * A value in the JSON-safe form rows are stored and exchanged in outside the
 * wire (the conflict log, remembered deletions, a person's merged row):
 * bytes as {"$b64": base64}, every other value as it is.
 */
export function jsonSafeValue(value: Value): unknown {
  return Buffer.isBuffer(value) ? { $b64: value.toString('base64') } : value;
}

/** A row with every value in jsonSafeValue's form. */
export function jsonSafeRow(row: Row): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([name, value]) => [name, jsonSafeValue(value)]));
}

/** The value jsonSafeValue wrote (an object with `$b64` is bytes). */
export function valueFromJsonSafe(json: unknown): Value {
  if (json !== null && typeof json === 'object' && '$b64' in json) return Buffer.from(String((json as { $b64: unknown }).$b64), 'base64');
  return json as Value;
}

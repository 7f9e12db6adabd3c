import { ColumnSpec, Value } from '@tributary/model';
import { RowRejectedError } from './errors';

/**
 * Checks and reshaping shared by the SQL targets, between the model's
 * canonical value forms (libs/model LogicalType) and what drivers send and
 * return. A value of the wrong shape is refused as a row (RowRejectedError),
 * never coerced: guessing would write something the source never held.
 * Messages name the column, never the value.
 */

export function requireNumber(column: ColumnSpec, value: Value): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongShape(column, 'a finite number', value);
  return value;
}

/** INT and YEAR: a fraction would be rounded silently by MySQL, so it is refused instead. */
export function requireInteger(column: ColumnSpec, value: Value): number {
  if (!Number.isSafeInteger(value)) throw wrongShape(column, 'an integer', value);
  return value as number;
}

export function requireString(column: ColumnSpec, value: Value): string {
  if (typeof value !== 'string') throw wrongShape(column, 'a string', value);
  return value;
}

export function requireBuffer(column: ColumnSpec, value: Value): Buffer {
  if (!Buffer.isBuffer(value)) throw wrongShape(column, 'a Buffer', value);
  return value;
}

/** Decimal digits only, optional sign: what BIGINT and DECIMAL travel as. */
export function requireDecimal(column: ColumnSpec, value: Value): string {
  const text = requireString(column, value);
  if (!/^-?\d+(\.\d+)?$/.test(text)) throw wrongShape(column, 'a decimal string', value);
  return text;
}

/** A BIT value: exactly the column's width of '0'/'1' characters (the codec pads it). */
export function requireBits(column: ColumnSpec, value: Value): string {
  const text = requireString(column, value);
  const width = column.length ?? 1;
  if (!/^[01]+$/.test(text) || text.length !== width) throw wrongShape(column, `${width} bits`, value);
  return text;
}

function wrongShape(column: ColumnSpec, expected: string, value: Value): RowRejectedError {
  const got = Buffer.isBuffer(value) ? 'a Buffer' : typeof value;
  return new RowRejectedError(`column ${column.name} (${column.type}): expected ${expected}, got ${got}`, null);
}

/** Pads or cuts a fraction to the column's fsp, as MySQL shows it: '1' with fsp 3 → '.100'. */
export function withFraction(base: string, fraction: string | undefined, fsp: number | null): string {
  const digits = fsp ?? 0;
  if (digits <= 0) return base;
  return `${base}.${(fraction ?? '').padEnd(digits, '0').slice(0, digits)}`;
}

/**
 * 'YYYY-MM-DD HH:MM:SS[.f...]' (optionally followed by a UTC offset, which
 * must be zero) to the canonical form with exactly fsp fractional digits.
 */
export function normaliseDateTime(column: ColumnSpec, text: string): string {
  const match = /^(\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))?(?:([+-])(\d\d)(?::?(\d\d))?)?$/.exec(text);
  if (!match) throw new Error(`column ${column.name}: unexpected date-time text from the target`);
  if (match[3] && (Number(match[4]) !== 0 || Number(match[5] ?? 0) !== 0)) {
    throw new Error(`column ${column.name}: target returned a non-UTC offset; the session time zone must be UTC`);
  }
  return withFraction(match[1], match[2], column.fsp);
}

/**
 * Seconds as exact decimal text (e.g. PostgreSQL's EXTRACT(EPOCH FROM
 * interval) '-3020399.123000') to MySQL TIME text '-838:59:59.123'. Done on
 * digits, not floats, so no fraction is lost.
 */
export function secondsToTime(seconds: string, fsp: number | null): string {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(seconds);
  if (!match) throw new Error(`not a seconds value: ${seconds}`);
  const whole = BigInt(match[2]);
  const hours = whole / 3600n;
  const minutes = (whole % 3600n) / 60n;
  const secs = whole % 60n;
  const fraction = match[3] ?? '';
  const zero = whole === 0n && /^0*$/.test(fraction.slice(0, fsp ?? 0));
  const sign = match[1] && !zero ? '-' : '';
  const base = `${sign}${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}:${String(secs).padStart(2, '0')}`;
  return withFraction(base, fraction, fsp);
}

/** '0101' → '5': the unsigned integer a BIT value stands for, as decimal text. */
export function bitsToUnsigned(bits: string): string {
  return BigInt('0b' + bits).toString();
}

/** The bytes MySQL returns for a BIT column → '0101…' padded to the column width. */
export function bufferToBits(buffer: Buffer, width: number): string {
  const value = buffer.length === 0 ? 0n : BigInt('0x' + buffer.toString('hex'));
  return value.toString(2).padStart(width, '0');
}

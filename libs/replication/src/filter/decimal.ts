/**
 * Exact comparison of decimal strings (DECIMAL and BIGINT values, carried as
 * text so no digit is lost): Number() would round beyond 2^53 and on long
 * fractions.
 */
const DECIMAL = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/;

export function isDecimalText(text: string): boolean {
  const match = DECIMAL.exec(text);
  return match !== null && (match[2].length > 0 || (match[3] ?? '').length > 0);
}

/** -1, 0 or 1 as a < b, a = b, a > b. Throws on text that is not a decimal number. */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const x = parse(a);
  const y = parse(b);
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  const magnitude = compareMagnitude(x, y);
  return (x.negative ? -magnitude : magnitude) as -1 | 0 | 1;
}

interface Parsed {
  negative: boolean;
  int: string;
  frac: string;
}

function parse(text: string): Parsed {
  const match = DECIMAL.exec(text.trim());
  if (!match || !isDecimalText(text.trim())) throw new Error(`not a decimal number: ${JSON.stringify(text)}`);
  const int = match[2].replace(/^0+/, '');
  const frac = (match[3] ?? '').replace(/0+$/, '');
  // -0 and 0.000 are zero: no sign.
  return { negative: match[1] === '-' && (int !== '' || frac !== ''), int, frac };
}

function compareMagnitude(x: Parsed, y: Parsed): number {
  if (x.int.length !== y.int.length) return x.int.length < y.int.length ? -1 : 1;
  if (x.int !== y.int) return x.int < y.int ? -1 : 1;
  const width = Math.max(x.frac.length, y.frac.length);
  const fx = x.frac.padEnd(width, '0');
  const fy = y.frac.padEnd(width, '0');
  return fx === fy ? 0 : fx < fy ? -1 : 1;
}

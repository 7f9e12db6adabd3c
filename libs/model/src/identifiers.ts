/**
 * Identifier rules. Everything that reaches SQL or DDL as a name passes
 * validateIdentifier first and is quoted anyway (invariant 10).
 */

/** Letters, digits, `_` and `$`, 1-64 characters, not all digits: safe in MySQL and PostgreSQL. */
const IDENTIFIER = /^(?![0-9]+$)[A-Za-z0-9_$]{1,64}$/;

export class InvalidIdentifierError extends Error {
  constructor(
    readonly what: string,
    readonly value: unknown,
  ) {
    super(`${what} must be 1-64 characters of letters, digits, _ or $ (and not only digits); got ${JSON.stringify(value)}`);
    this.name = 'InvalidIdentifierError';
  }
}

export function isValidIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER.test(value);
}

export function validateIdentifier(value: unknown, what = 'identifier'): string {
  if (!isValidIdentifier(value)) throw new InvalidIdentifierError(what, value);
  return value;
}

/** Quote for MySQL/MariaDB (backticks doubled). */
export function quoteMysql(name: string): string {
  return '`' + validateIdentifier(name).replace(/`/g, '``') + '`';
}

/** Quote for PostgreSQL/SQLite (double quotes doubled). */
export function quoteAnsi(name: string): string {
  return '"' + validateIdentifier(name).replace(/"/g, '""') + '"';
}

/** Route, source and target names: lowercase slugs, usable in queue names and job ids. */
const SLUG = /^[a-z][a-z0-9_-]{0,62}$/;

export function validateName(value: unknown, what = 'name'): string {
  if (typeof value !== 'string' || !SLUG.test(value)) {
    throw new InvalidIdentifierError(`${what} (lowercase letter first, then a-z 0-9 _ -, at most 63)`, value);
  }
  return value;
}

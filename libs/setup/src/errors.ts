import { reservedTableReason } from '@tributary/db';
import { InvalidIdentifierError, validateIdentifier, validateName } from '@tributary/model';

/**
 * Typed errors of the configuration operations. Callers (the admin API)
 * decide what to answer with `instanceof`, never by message text. Messages
 * say what is wrong and never carry a credential; `field` names the input at
 * fault, when there is one.
 */
export class SetupError extends Error {
  constructor(
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'SetupError';
  }
}

/** A value is malformed, or names something that does not exist (e.g. a route's `sourceId`). */
export class InvalidInputError extends SetupError {
  constructor(message: string, field: string | null = null) {
    super(message, field);
    this.name = 'InvalidInputError';
  }
}

/** The thing the operation is about (a source, table, target or route) does not exist. */
export class NotFoundError extends SetupError {
  constructor(message: string, field: string | null = null) {
    super(message, field);
    this.name = 'NotFoundError';
  }
}

/** The operation clashes with the configuration as it is: a duplicate id, or something still in use. */
export class ConflictError extends SetupError {
  constructor(message: string, field: string | null = null) {
    super(message, field);
    this.name = 'ConflictError';
  }
}

/** Well-formed input naming a database that cannot be reached or prepared (e.g. a new source's URL). */
export class UnusableInputError extends SetupError {
  constructor(message: string, field: string | null = null) {
    super(message, field);
    this.name = 'UnusableInputError';
  }
}

/** A configured database the operation needs (a source, a target) does not answer now; retrying later may work. */
export class UnavailableError extends SetupError {
  constructor(message: string, field: string | null = null) {
    super(message, field);
    this.name = 'UnavailableError';
  }
}

/** Runs an identifier check and reports a failure as invalid input in `field`. */
export function checkField<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InvalidIdentifierError) throw new InvalidInputError(error.message, field);
    throw error;
  }
}

/**
 * Checks a table name given for `field` (a captured table, a target table):
 * a valid identifier, and not one of the tables Tributary keeps its own
 * bookkeeping in (writing those loses changes silently).
 */
export function checkTableName(field: string, value: unknown): string {
  const name = checkField(field, () => validateIdentifier(value, field));
  const reserved = reservedTableReason(name);
  if (reserved) throw new InvalidInputError(`${field}: ${reserved}`, field);
  return name;
}

/**
 * Checks the name of a source, target or route (a slug: it becomes part of
 * queue names and job ids) and reports a bad one in `field`.
 */
export function checkName(field: string, value: string): string {
  try {
    return validateName(value);
  } catch (error) {
    if (!(error instanceof InvalidIdentifierError)) throw error;
    throw new InvalidInputError(`${field} must start with a lowercase letter, then a-z, 0-9, _ or - (at most 63 characters); got ${JSON.stringify(value)}`, field);
  }
}

/** The driver's own words for an error (mysql2 keeps them in sqlMessage; knex prefixes the statement to message). */
export function reasonOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'sqlMessage' in error && typeof error.sqlMessage === 'string') return error.sqlMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}

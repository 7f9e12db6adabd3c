import { RowRejectedError } from '../errors';

/**
 * Deciding, by driver code only, whether a failed statement means "this row
 * can never go in" (data) or "try the whole batch again later" (transient).
 * Anything not known to be data is transient: a route must never skip a
 * change because of an error we did not understand (invariant 2).
 */
export type ErrorKind = 'data' | 'transient';

export interface ErrorClass {
  kind: ErrorKind;
  /** SQLSTATE (PostgreSQL), error number (MySQL) or the Node/driver code, when there is one. */
  code: string | null;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint), and a few single states. */
const POSTGRES_DATA_CLASSES = new Set(['22', '23']);
const POSTGRES_DATA_STATES = new Set([
  '42804', // datatype_mismatch
  '21000', // cardinality_violation: one statement hit the same row twice
  '54000', // program_limit_exceeded: e.g. a value too large for an index row
]);

export function classifyPostgresError(error: unknown): ErrorClass {
  if (error instanceof RowRejectedError) return { kind: 'data', code: error.code };
  const code = codeOf(error);
  if (code !== null && /^[0-9A-Z]{5}$/.test(code)) {
    const data = POSTGRES_DATA_CLASSES.has(code.slice(0, 2)) || POSTGRES_DATA_STATES.has(code);
    return { kind: data ? 'data' : 'transient', code };
  }
  return { kind: 'transient', code };
}

/** MySQL/MariaDB server errors that are about the row's values or constraints. */
const MYSQL_DATA_ERRORS = new Set([
  1048, // column cannot be null
  1062, // duplicate entry
  1169, // unique constraint
  1216, 1217, // foreign key (old numbers)
  1264, // out of range
  1265, // data truncated
  1292, // incorrect datetime/value
  1366, // incorrect value for column (e.g. string for int, bad utf8)
  1367, // illegal value for type
  1406, // data too long
  1411, // incorrect value for function
  1451, 1452, // foreign key
  1586, // duplicate entry for key
  1690, // value out of range
  1918, // MariaDB: illegal value when converting
  3140, // MySQL: invalid JSON text
  3819, // MySQL: check constraint violated
  4025, // MariaDB: CONSTRAINT failed (e.g. json_valid)
]);

export function classifyMysqlError(error: unknown): ErrorClass {
  if (error instanceof RowRejectedError) return { kind: 'data', code: error.code };
  if (isRecord(error) && typeof error.errno === 'number' && typeof error.sqlState === 'string') {
    return { kind: MYSQL_DATA_ERRORS.has(error.errno) ? 'data' : 'transient', code: String(error.errno) };
  }
  return { kind: 'transient', code: codeOf(error) };
}

function codeOf(error: unknown): string | null {
  if (!isRecord(error)) return null;
  if (typeof error.code === 'string') return error.code;
  if (typeof error.name === 'string' && error.name === 'KnexTimeoutError') return 'KnexTimeoutError';
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * SQLite (better-sqlite3 puts the extended result code in `code`): every
 * constraint (NOT NULL, CHECK, STRICT datatype, unique), a type mismatch or a
 * value too big is about the row; BUSY, LOCKED, IOERR, CANTOPEN and the rest
 * are transient.
 */
export function classifySqliteError(error: unknown): ErrorClass {
  if (error instanceof RowRejectedError) return { kind: 'data', code: error.code };
  const code = codeOf(error);
  if (code !== null && code.startsWith('SQLITE_')) {
    const data = code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG';
    return { kind: data ? 'data' : 'transient', code };
  }
  return { kind: 'transient', code };
}

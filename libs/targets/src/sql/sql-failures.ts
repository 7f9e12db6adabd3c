import { ErrorClass } from './error-classification';
import { TransientTargetError } from '../errors';
import { SqlDialect } from './sql-dialect';

/**
 * How a failed SQL statement becomes an error of the Target contract:
 * classified once by the dialect, with the driver's own words, and anything
 * that is not a refused row a TransientTargetError (retry the batch later).
 * Shared by the apply path (sql-apply.ts) and the reads (sql-target-ops.ts).
 */

/** A failed statement, classified once, with the driver's own message (without our SQL). */
export class StatementFailure extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    readonly reason: string,
    options: { cause: unknown },
  ) {
    super(reason, options);
    this.name = 'StatementFailure';
  }
}

/** Everything that is not a refused row means "retry this batch later" (invariant 2). */
export function transient(dialect: SqlDialect, error: unknown): TransientTargetError {
  if (error instanceof TransientTargetError) return error;
  if (error instanceof StatementFailure) {
    return new TransientTargetError(`${dialect.kind} target: ${error.reason}`, error.errorClass.code, { cause: error.cause });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TransientTargetError(`${dialect.kind} target: ${message}`, dialect.classify(error).code, { cause: error });
}

/**
 * knex prefixes a driver error with the statement ("<sql> - <message>", with
 * compileSqlOnError off so no values are inlined); a dead letter wants the
 * target's own words.
 */
export function driverMessage(error: unknown, sql: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const at = message.indexOf(' - ');
  if (at >= 0 && message.slice(0, at).replace(/\$\d+/g, '?') === sql) return message.slice(at + 3);
  return message;
}

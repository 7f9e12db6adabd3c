import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';
import { CaptureError } from '@tributary/capture';
import { InvalidIdentifierError } from '@tributary/model';
import { ConflictError, NotFoundError, SetupError, UnavailableError, UnusableInputError } from '@tributary/setup';
import { TargetConfigError } from '@tributary/targets';
import { FieldProblem } from '../http/validation';

/**
 * Status codes of the setup layer's typed errors, most specific first.
 * 422: the input is well-formed but the database it names cannot be used
 * (an unreachable new source). 502: a configured database the operation
 * needs does not answer now (a target whose table must be checked).
 */
const STATUSES: ReadonlyArray<[new (...args: never[]) => SetupError, number]> = [
  [NotFoundError, 404],
  [ConflictError, 409],
  [UnusableInputError, 422],
  [UnavailableError, 502],
];

/**
 * The one place where errors of the configuration operations become HTTP
 * answers (by type, never by message text), in the admin's error shape:
 * `{statusCode, error, message, details: [{field, message}]}`. Messages of
 * these errors are built to be shown (no credentials). Returns null for
 * anything else, which the global error filter turns into a 500 that shows
 * nothing.
 */
export function toHttpException(error: unknown): HttpException | null {
  if (error instanceof SetupError) {
    const status = STATUSES.find(([type]) => error instanceof type)?.[1] ?? 400;
    return httpError(status, error.message, error.field);
  }
  // Refusals of the libraries under setup, should one reach here unwrapped: still the client's input.
  if (error instanceof InvalidIdentifierError || error instanceof CaptureError || error instanceof TargetConfigError) {
    return httpError(400, error.message, null);
  }
  return null;
}

function httpError(status: number, message: string, field: string | null): HttpException {
  const details: FieldProblem[] = field ? [{ field, message }] : [];
  return new HttpException({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, details }, status);
}

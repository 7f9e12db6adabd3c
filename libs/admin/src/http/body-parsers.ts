import { BadRequestException, HttpException } from '@nestjs/common';
import { ErrorRequestHandler, json, RequestHandler, urlencoded } from 'express';
import { STATUS_CODES } from 'node:http';

/** Bodies are configuration, not data: a megabyte is plenty. */
const JSON_LIMIT = '1mb';

/**
 * JSON and form parsers for the admin, installed after authentication so an
 * anonymous request is never parsed. A malformed body becomes a 400 that says
 * so, an oversized one a 413, instead of an error Nest would answer with 500.
 */
export function bodyParsers(): Array<RequestHandler | ErrorRequestHandler> {
  return [json({ limit: JSON_LIMIT }), urlencoded({ extended: false, limit: '64kb' }), translateParseErrors];
}

const translateParseErrors: ErrorRequestHandler = (error: unknown, _req, _res, next) => {
  next(parseErrorToHttp(error));
};

/** body-parser errors carry `type` and `status`; everything else passes through untouched. */
export function parseErrorToHttp(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { type, status } = error as Error & { type?: unknown; status?: unknown };
  if (typeof type !== 'string' || typeof status !== 'number') return error;
  if (type === 'entity.parse.failed') return new BadRequestException(httpBody(400, `request body is not valid JSON: ${error.message}`));
  if (type === 'entity.too.large') return new HttpException(httpBody(413, `request body is too large (JSON: at most ${JSON_LIMIT})`), 413);
  if (status >= 400 && status < 500) return new HttpException(httpBody(status, error.message), status);
  return error;
}

function httpBody(status: number, message: string): { statusCode: number; error: string; message: string } {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
}

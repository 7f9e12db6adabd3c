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
  return [json({ limit: JSON_LIMIT }), urlencoded({ extended: false, limit: '64kb' }), translateParseErrors, refuseOddShapes];
}

/** Deeper than any body the API takes (a mapping or a conflict's row is 3–4 levels); validation recurses, so this bounds it. */
export const MAX_BODY_DEPTH = 32;

/**
 * Keys that name Object.prototype's members. JSON.parse makes `__proto__` an
 * own key, which the first copy of the object turns into a prototype change
 * (a mapping's rename of it was stored as `{}`); the others shadow what code
 * looks up on a plain object. No field of the API is named like them.
 */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Why a parsed body is refused before anything reads it: nested too deep, or
 * a key from PROTOTYPE_KEYS anywhere; null if it is fine. Iterative, so a
 * hostile body cannot overflow the stack here either.
 */
export function bodyShapeProblem(body: unknown): string | null {
  const pending: Array<{ value: unknown; depth: number; path: string }> = [{ value: body, depth: 0, path: 'body' }];
  while (pending.length > 0) {
    const { value, depth, path } = pending.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_BODY_DEPTH) return `request body is nested deeper than ${MAX_BODY_DEPTH} levels (at ${path})`;
    const array = Array.isArray(value);
    for (const key of Object.keys(value)) {
      if (!array && PROTOTYPE_KEYS.has(key)) return `request body: the key ${JSON.stringify(key)} is not allowed (at ${path})`;
      pending.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: array ? `${path}[${key}]` : `${path}.${key}` });
    }
  }
  return null;
}

const refuseOddShapes: RequestHandler = (req, _res, next) => {
  const problem = bodyShapeProblem(req.body);
  next(problem ? new BadRequestException(httpBody(400, problem)) : undefined);
};

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

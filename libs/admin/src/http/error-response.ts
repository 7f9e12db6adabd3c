import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';

/** The JSON every error of the admin answers with; `details` only on validation errors, `requestId` on 500. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  [extra: string]: unknown;
}

/** What an error becomes on the wire, and whether it is ours to log (a 500). */
export interface ErrorResponse {
  status: number;
  body: ErrorBody | object;
  unexpected: boolean;
}

/**
 * HttpExceptions keep their JSON; client errors raised by express middleware
 * (http-errors with `expose`) keep their message; anything else is an
 * internal error whose message stays in the log (it may hold SQL, hosts or
 * credentials), with only the request id in the answer.
 */
export function errorResponse(exception: unknown, requestId: string): ErrorResponse {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const body = typeof response === 'string' ? { statusCode: status, error: reason(status), message: response } : response;
    return { status, body, unexpected: false };
  }
  const client = exposedClientError(exception);
  if (client) return { status: client.status, body: { statusCode: client.status, error: reason(client.status), message: client.message }, unexpected: false };
  return {
    status: 500,
    body: { statusCode: 500, error: 'Internal Server Error', message: 'internal error', requestId },
    unexpected: true,
  };
}

function exposedClientError(exception: unknown): { status: number; message: string } | null {
  if (!(exception instanceof Error)) return null;
  const fields = exception as Error & { status?: unknown; statusCode?: unknown; expose?: unknown };
  const status = typeof fields.status === 'number' ? fields.status : fields.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499 || fields.expose !== true) return null;
  return { status, message: exception.message };
}

function reason(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

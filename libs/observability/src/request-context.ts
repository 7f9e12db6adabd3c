import { randomUUID } from 'node:crypto';
import { NextFunction, Request, RequestHandler, Response } from 'express';
import { Logger } from '@tributary/logger';

const requestIds = new WeakMap<object, string>();

/** The id given to a request by requestContext (also sent back as X-Request-Id). */
export function requestIdOf(req: object): string | undefined {
  return requestIds.get(req);
}

/** Probes and scrapes arrive every few seconds; at info they would drown everything else. */
const QUIET_PATHS = new Set(['/health', '/health/live', '/metrics']);

/**
 * Gives every request an id (a caller's well-formed X-Request-Id is kept, so
 * a proxy's id carries through) and logs one JSON line when it ends: method,
 * path without the query string (it may hold secrets), status, ms and the
 * id. Never headers.
 */
export function requestContext(logger: Logger): RequestHandler {
  const log = logger.child({ component: 'http' });
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : randomUUID();
    requestIds.set(req, requestId);
    res.setHeader('X-Request-Id', requestId);
    const path = req.originalUrl.split('?')[0].slice(0, 512);
    res.once('close', () => {
      const line = {
        method: req.method,
        path,
        status: res.statusCode,
        ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        requestId,
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (QUIET_PATHS.has(path)) log.debug(line, 'http request');
      else log.info(line, 'http request');
    });
    next();
  };
}

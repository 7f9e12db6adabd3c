import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, Inject } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Request, Response } from 'express';
import { redactSecrets } from '@tributary/config';
import { LOGGER, Logger } from '@tributary/logger';
import { requestIdOf } from '@tributary/observability';
import { errorResponse } from './error-response';

/**
 * The admin's only error writer (registered with APP_FILTER): never a stack
 * trace or a credential in a response; every unexpected error logged once,
 * redacted, with the request id the client was given.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger: Logger;

  constructor(
    @Inject(LOGGER) logger: Logger,
    private readonly adapter: HttpAdapterHost,
  ) {
    this.logger = logger.child({ component: 'http' });
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const requestId = requestIdOf(req) ?? randomUUID();
    const answer = errorResponse(exception, requestId);
    const { unexpected } = answer;
    let { status, body } = answer;
    if (status === 404) {
      // A path that exists, asked with a method it does not take: 405 and what it does take.
      const allowed = methodsOf(this.adapter.httpAdapter?.getInstance(), req.path);
      if (allowed.length > 0 && !allowed.includes(req.method)) {
        res.setHeader('Allow', allowed.join(', '));
        status = 405;
        body = { statusCode: 405, error: 'Method Not Allowed', message: `${req.method} is not allowed on ${req.path}; use ${allowed.join(', ')}` };
      }
    }
    if (unexpected) {
      const error = exception instanceof Error ? exception : new Error(String(exception));
      this.logger.error(
        {
          requestId,
          method: req.method,
          path: req.originalUrl.split('?')[0],
          err: { type: error.name, message: redactSecrets(error.message), stack: redactSecrets(error.stack ?? '') },
        },
        'request failed',
      );
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).json(body);
  }
}

interface RouteLayer {
  route?: { methods: Record<string, boolean> };
  match(path: string): unknown;
}

/** The methods the routes matching `path` take (HEAD with GET), from express's router; empty if none matches. */
function methodsOf(app: { router?: { stack: RouteLayer[] } } | undefined, path: string): string[] {
  const methods = new Set<string>();
  for (const layer of app?.router?.stack ?? []) {
    if (!layer.route || !layer.match(path)) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

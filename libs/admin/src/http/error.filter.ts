import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, Inject } from '@nestjs/common';
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

  constructor(@Inject(LOGGER) logger: Logger) {
    this.logger = logger.child({ component: 'http' });
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const requestId = requestIdOf(req) ?? randomUUID();
    const { status, body, unexpected } = errorResponse(exception, requestId);
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

import { Injectable, NestMiddleware } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { sendAuthFailure, sendUnavailable } from './auth-failure';
import { Authenticator } from './authenticator';

/**
 * Runs first for every request, so it covers what Nest guards cannot see:
 * Swagger UI and bull-board are plain express handlers. Answers before any
 * routing, so an unknown /api path is a 401/403 and not a 404.
 */
@Injectable()
export class AuthMiddleware implements NestMiddleware<Request, Response> {
  constructor(private readonly authenticator: Authenticator) {}

  use(req: Request, res: Response, next: NextFunction): void {
    this.authenticator.authorize(req).then(
      (outcome) => {
        if (outcome.allowed) return next();
        sendAuthFailure(req, res, outcome.status, outcome.message, outcome.staleSession, outcome.retryAfterSeconds);
      },
      // Redis did not answer whether the session was signed out: closed, but saying why.
      () => sendUnavailable(res, 'cannot check the session now (Redis does not answer); a Bearer token still works'),
    );
  }
}

import { CanActivate, ExecutionContext, ForbiddenException, HttpException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Request, Response } from 'express';
import { authChallenge, authFailureBody } from './auth-failure';
import { Authenticator } from './authenticator';

/**
 * Second line behind AuthMiddleware for Nest routes: if the admin module is
 * ever served without the middleware (another entry point, a test app), its
 * controllers stay closed (invariant 10).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly authenticator: Authenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const outcome = await this.authenticator.authorize(req);
    if (outcome.allowed) return true;
    if (outcome.status === 403) throw new ForbiddenException(authFailureBody(403, outcome.message));
    if (outcome.status === 429) {
      http.getResponse<Response>().setHeader('Retry-After', String(outcome.retryAfterSeconds ?? 1));
      throw new HttpException(authFailureBody(429, outcome.message), 429);
    }
    http.getResponse<Response>().setHeader('WWW-Authenticate', authChallenge(req.path));
    throw new UnauthorizedException(authFailureBody(401, outcome.message));
  }
}

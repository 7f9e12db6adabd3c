import { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { AdminTokenDecision } from './admin-token';
import { secretsEqual } from './constant-time';
import { presentedCredential } from './credentials';
import { isCrossSiteWrite } from './cross-site';
import { isPublicPath } from './public-paths';
import { createSessionValue, readSessionCookie, verifySessionValue } from './session-cookie';

/** Injection token of the AdminTokenDecision this process runs with. */
export const ADMIN_TOKEN_DECISION = Symbol('ADMIN_TOKEN_DECISION');

/** The parts of a request authentication looks at; never logged. */
export interface AuthRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/** Let the request through, or refuse it: 401 without credentials, 403 with wrong ones. */
export type AuthOutcome =
  | { allowed: true }
  | { allowed: false; status: 401 | 403; message: string; staleSession: boolean };

/** Checks requests against the admin token; the one place that knows it. */
@Injectable()
export class Authenticator {
  constructor(@Inject(ADMIN_TOKEN_DECISION) private readonly decision: AdminTokenDecision) {}

  check(request: AuthRequest, nowMs = Date.now()): AuthOutcome {
    if (isPublicPath(request.path)) return { allowed: true };
    const credential = presentedCredential(request.headers.authorization, readSessionCookie(request.headers.cookie));
    switch (credential.kind) {
      case 'none':
        return refuse(401, 'a token is required: send "Authorization: Bearer <token>", or sign in at /login');
      case 'unsupported':
        return refuse(401, 'unsupported Authorization scheme: use Bearer <token> or Basic with the token as password');
      case 'session':
        if (!verifySessionValue(credential.value, this.decision.token, nowMs)) {
          return refuse(403, 'the session has expired or the token changed: sign in again at /login', true);
        }
        break;
      case 'bearer':
      case 'basic':
        if (!this.tokenMatches(credential.secret)) return refuse(403, 'wrong token');
        // Bearer is never attached by a browser on its own; Basic and cookies are.
        if (credential.kind === 'bearer') return { allowed: true };
        break;
    }
    if (isCrossSiteWrite(request.method, request.headers)) return refuse(403, 'cross-site request refused');
    return { allowed: true };
  }

  /** Constant-time comparison with the admin token. */
  tokenMatches(candidate: string): boolean {
    return secretsEqual(candidate, this.decision.token);
  }

  /** A fresh session cookie value for a browser that just proved it knows the token. */
  newSessionValue(nowMs = Date.now()): string {
    return createSessionValue(this.decision.token, nowMs);
  }
}

function refuse(status: 401 | 403, message: string, staleSession = false): AuthOutcome {
  return { allowed: false, status, message, staleSession };
}

import { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { AdminTokenDecision } from './admin-token';
import { secretsEqual } from './constant-time';
import { presentedCredential } from './credentials';
import { isCrossSiteWrite } from './cross-site';
import { AuthFailureStatus } from './auth-failure';
import { isPublicPath } from './public-paths';
import { createSessionValue, readSessionCookie, Session, verifySessionValue } from './session-cookie';
import { SessionStore } from './session-store';
import { WrongTokenLimiter } from './wrong-token-limiter';

/** Injection token of the AdminTokenDecision this process runs with. */
export const ADMIN_TOKEN_DECISION = Symbol('ADMIN_TOKEN_DECISION');

/** The parts of a request authentication looks at; never logged. */
export interface AuthRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The client's address: wrong tokens are counted per address (WrongTokenLimiter). */
  ip?: string;
}

/** Let the request through, or refuse it: 401 without credentials, 403 with wrong ones, 429 while an address is blocked. */
export type AuthOutcome =
  | { allowed: true; session?: Session }
  | { allowed: false; status: AuthFailureStatus; message: string; staleSession: boolean; retryAfterSeconds?: number };

/** What trying a token gave: right, wrong, or not tried because the address must wait (seconds). */
export type TokenTry = { ok: true } | { ok: false; waitSeconds: number | null };

/** Checks requests against the admin token; the one place that knows it. */
@Injectable()
export class Authenticator {
  private readonly limiter = new WrongTokenLimiter();

  constructor(
    @Inject(ADMIN_TOKEN_DECISION) private readonly decision: AdminTokenDecision,
    @Optional() private readonly sessions?: SessionStore,
  ) {}

  /**
   * check, then for a session cookie whether it is still open (shared
   * through Redis, so it takes a round trip; a Bearer or Basic token never does).
   */
  async authorize(request: AuthRequest, nowMs = Date.now()): Promise<AuthOutcome> {
    const outcome = this.check(request, nowMs);
    if (!outcome.allowed || !outcome.session || !this.sessions) return outcome;
    if (!(await this.sessions.isOpen(outcome.session.id))) {
      return refuse(403, 'the session was signed out (or the admin lost its sessions: Redis restarted empty): sign in again at /login', true);
    }
    return outcome;
  }

  /** Ends the session a cookie carries, if it is one of ours (POST /logout). */
  async signOut(cookieHeader: string | undefined, nowMs = Date.now()): Promise<void> {
    const value = readSessionCookie(cookieHeader);
    const session = value ? verifySessionValue(value, this.decision.token, nowMs) : null;
    if (session && this.sessions) await this.sessions.close(session);
  }

  check(request: AuthRequest, nowMs = Date.now()): AuthOutcome {
    if (isPublicPath(request.path)) return { allowed: true };
    const credential = presentedCredential(request.headers.authorization, readSessionCookie(request.headers.cookie));
    let session: Session | undefined;
    switch (credential.kind) {
      case 'none':
        return refuse(401, 'a token is required: send "Authorization: Bearer <token>", or sign in at /login');
      case 'unsupported':
        return refuse(401, 'unsupported Authorization scheme: use Bearer <token> or Basic with the token as password');
      case 'session':
        session = verifySessionValue(credential.value, this.decision.token, nowMs) ?? undefined;
        if (!session) return refuse(403, 'the session has expired or the token changed: sign in again at /login', true);
        break;
      case 'bearer':
      case 'basic': {
        const tried = this.tryToken(credential.secret, request.ip, nowMs);
        if (!tried.ok) return tried.waitSeconds === null ? refuse(403, 'wrong token') : tooManyWrongTokens(tried.waitSeconds);
        // Bearer is never attached by a browser on its own; Basic and cookies are.
        if (credential.kind === 'bearer') return { allowed: true };
        break;
      }
    }
    if (isCrossSiteWrite(request.method, request.headers)) return refuse(403, 'cross-site request refused');
    return session ? { allowed: true, session } : { allowed: true };
  }

  /**
   * Compares `candidate` with the admin token (constant time), unless its
   * address guessed wrong too often lately: then it is not even compared
   * (a right guess must not get through a block either).
   */
  tryToken(candidate: string, address: string | undefined, nowMs = Date.now()): TokenTry {
    const from = address ?? 'unknown';
    const blockedMs = this.limiter.blockedFor(from, nowMs);
    if (blockedMs > 0) return { ok: false, waitSeconds: Math.ceil(blockedMs / 1000) };
    if (secretsEqual(candidate, this.decision.token)) {
      this.limiter.succeeded(from);
      return { ok: true };
    }
    this.limiter.failed(from, nowMs);
    return { ok: false, waitSeconds: null };
  }

  /** A fresh session cookie value for a browser that just proved it knows the token, its session open (SessionStore). */
  async openSession(nowMs = Date.now()): Promise<string> {
    const value = createSessionValue(this.decision.token, nowMs);
    const session = verifySessionValue(value, this.decision.token, nowMs);
    if (session && this.sessions) await this.sessions.open(session, nowMs);
    return value;
  }
}

function refuse(status: 401 | 403, message: string, staleSession = false): AuthOutcome {
  return { allowed: false, status, message, staleSession };
}

export function tooManyWrongTokensMessage(waitSeconds: number): string {
  return `too many wrong tokens from this address: try again in ${waitSeconds} s`;
}

function tooManyWrongTokens(waitSeconds: number): AuthOutcome {
  return { allowed: false, status: 429, message: tooManyWrongTokensMessage(waitSeconds), staleSession: false, retryAfterSeconds: waitSeconds };
}

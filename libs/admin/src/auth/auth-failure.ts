import { Request, Response } from 'express';
import { isApiPath } from './public-paths';
import { SESSION_COOKIE } from './session-cookie';
import { escapeHtml } from './login-page';

export type AuthFailureStatus = 401 | 403 | 429;

const ERRORS: Record<AuthFailureStatus, string> = { 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests' };

/** The JSON body of a refused request: the same shape as every other error of the admin. */
export interface AuthFailureBody {
  statusCode: AuthFailureStatus;
  error: string;
  message: string;
}

export function authFailureBody(status: AuthFailureStatus, message: string): AuthFailureBody {
  return { statusCode: status, error: ERRORS[status], message };
}

/**
 * The challenge a 401 carries. Browser surfaces (/docs, /queues) ask for
 * Basic, so the browser shows its password prompt; /api names Bearer, which
 * no browser prompts for.
 */
export function authChallenge(path: string): string {
  return isApiPath(path) ? 'Bearer realm="Tributary"' : 'Basic realm="Tributary", charset="UTF-8"';
}

/** Answers a refused request: JSON for programs, a short page pointing at /login for a browser. */
export function sendAuthFailure(req: Request, res: Response, status: AuthFailureStatus, message: string, staleSession: boolean, retryAfterSeconds?: number): void {
  res.setHeader('Cache-Control', 'no-store');
  if (status === 401) res.setHeader('WWW-Authenticate', authChallenge(req.path));
  if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
  if (staleSession) res.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict' });
  if (status === 401 && isPagePath(req.path) && !req.headers.authorization && req.accepts(['json', 'html']) === 'html') {
    // A person opening the status page without a session: the sign-in form, then back here.
    res.redirect(303, `/login?next=${encodeURIComponent(STATUS_PAGE_LANDING)}`);
    return;
  }
  res.status(status);
  if (!isApiPath(req.path) && req.accepts(['json', 'html']) === 'html') {
    res.type('html').send(failurePage(status, message));
    return;
  }
  res.json(authFailureBody(status, message));
}

/** Where a browser lands after signing in from the status page or the admin's root. */
const STATUS_PAGE_LANDING = '/status/';

/** The status page and the admin's root (which leads to it). */
function isPagePath(path: string): boolean {
  const lower = path.toLowerCase();
  return lower === '/' || lower === '/status' || lower.startsWith('/status/');
}

/** Authentication could not be decided (a dependency is down): 503, never a 200. */
export function sendUnavailable(res: Response, message: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.status(503).json({ statusCode: 503, error: 'Service Unavailable', message });
}

function failurePage(status: number, message: string): string {
  return `<!doctype html><meta charset="utf-8"><title>Tributary admin</title>
<p>${status}: ${escapeHtml(message)}</p><p><a href="/login">Sign in</a></p>`;
}

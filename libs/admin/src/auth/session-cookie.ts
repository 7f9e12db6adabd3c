import { createHmac, randomBytes } from 'node:crypto';
import { secretsEqual } from './constant-time';

/** Name of the HttpOnly cookie `POST /login` sets. */
export const SESSION_COOKIE = 'tributary_session';

/** A session ends after this long; signing in again is one paste of the token. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const VERSION = 'v2';

/** A verified session: its id (what logout revokes) and when it ends. */
export interface Session {
  id: string;
  expiresAtMs: number;
}

/**
 * A session cookie value: issue time, a random session id and an
 * HMAC-SHA256 of both keyed by the admin token. The token itself never
 * leaves the server; changing the token ends every session, and a cookie
 * counts only while its id is open (SessionStore: sign-in opens, logout closes).
 */
export function createSessionValue(token: string, nowMs: number, id = randomBytes(12).toString('base64url')): string {
  const issued = Math.floor(nowMs / 1000);
  return `${VERSION}.${issued}.${id}.${sign(token, issued, id)}`;
}

/** The session, when the value was made by createSessionValue with this token and has not expired; else null. */
export function verifySessionValue(value: string, token: string, nowMs: number): Session | null {
  const match = /^v2\.(\d{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return null;
  const issued = Number(match[1]);
  const ageMs = nowMs - issued * 1000;
  if (ageMs < -60_000 || ageMs > SESSION_TTL_MS) return null;
  if (!secretsEqual(match[3], sign(token, issued, match[2]))) return null;
  return { id: match[2], expiresAtMs: issued * 1000 + SESSION_TTL_MS };
}

function sign(token: string, issued: number, id: string): string {
  return createHmac('sha256', token).update(`tributary-admin-session.${VERSION}.${issued}.${id}`).digest('base64url');
}

/** The session cookie's value from a Cookie header, if present. */
export function readSessionCookie(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

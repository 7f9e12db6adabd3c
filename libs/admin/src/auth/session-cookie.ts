import { createHmac } from 'node:crypto';
import { secretsEqual } from './constant-time';

/** Name of the HttpOnly cookie `POST /login` sets. */
export const SESSION_COOKIE = 'tributary_session';

/** A session ends after this long; signing in again is one paste of the token. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const VERSION = 'v1';

/**
 * A session cookie value: issue time and an HMAC-SHA256 keyed by the admin
 * token. The token itself never leaves the server; changing the token ends
 * every session.
 */
export function createSessionValue(token: string, nowMs: number): string {
  const issued = Math.floor(nowMs / 1000);
  return `${VERSION}.${issued}.${sign(token, issued)}`;
}

/** True when the value was made by createSessionValue with this token and has not expired. */
export function verifySessionValue(value: string, token: string, nowMs: number): boolean {
  const match = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return false;
  const issued = Number(match[1]);
  const ageMs = nowMs - issued * 1000;
  if (ageMs < -60_000 || ageMs > SESSION_TTL_MS) return false;
  return secretsEqual(match[2], sign(token, issued));
}

function sign(token: string, issued: number): string {
  return createHmac('sha256', token).update(`tributary-admin-session.${VERSION}.${issued}`).digest('base64url');
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

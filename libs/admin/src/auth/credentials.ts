/** What a request presented, before it is checked. */
export type PresentedCredential =
  | { kind: 'none' }
  | { kind: 'bearer' | 'basic'; secret: string }
  | { kind: 'session'; value: string }
  | { kind: 'unsupported'; scheme: string };

/**
 * Reads `Authorization: Bearer <token>` or `Authorization: Basic
 * base64(anyuser:<token>)`; without that header, the session cookie. An
 * Authorization header wins over the cookie, so a program is never judged by
 * a browser's stale session.
 */
export function presentedCredential(authorization: string | undefined, sessionCookie: string | undefined): PresentedCredential {
  const header = authorization?.trim();
  if (header) {
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const rest = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer') return { kind: 'bearer', secret: rest };
    if (scheme === 'basic') return { kind: 'basic', secret: basicPassword(rest) };
    return { kind: 'unsupported', scheme };
  }
  if (sessionCookie) return { kind: 'session', value: sessionCookie };
  return { kind: 'none' };
}

/** The password part of Basic credentials; the user name is ignored. Malformed credentials give '' (never a match). */
function basicPassword(encoded: string): string {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? '' : decoded.slice(colon + 1);
}

import { createSessionValue, readSessionCookie, SESSION_TTL_MS, verifySessionValue } from './session-cookie';

const TOKEN = 'the-admin-token-0123456789';
const NOW = Date.UTC(2026, 0, 1);

describe('session cookie', () => {
  it('is an HMAC of the token, never the token itself', () => {
    const value = createSessionValue(TOKEN, NOW);
    expect(value).not.toContain(TOKEN);
    expect(value).toMatch(/^v2\.\d+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(verifySessionValue(value, TOKEN, NOW)).toEqual({ id: value.split('.')[2], expiresAtMs: NOW + SESSION_TTL_MS });
  });

  it('expires, and dies with the token', () => {
    const value = createSessionValue(TOKEN, NOW);
    expect(verifySessionValue(value, TOKEN, NOW + SESSION_TTL_MS - 1000)).not.toBeNull();
    expect(verifySessionValue(value, TOKEN, NOW + SESSION_TTL_MS + 1000)).toBeNull();
    expect(verifySessionValue(value, 'another-token-0123456789', NOW)).toBeNull();
  });

  it('cannot be stretched by editing the issue time, nor moved to another session id', () => {
    const [version, issued, id, mac] = createSessionValue(TOKEN, NOW).split('.');
    expect(verifySessionValue(`${version}.${Number(issued) + 3600}.${id}.${mac}`, TOKEN, NOW + SESSION_TTL_MS)).toBeNull();
    expect(verifySessionValue(`${version}.${issued}.${'A'.repeat(16)}.${mac}`, TOKEN, NOW)).toBeNull();
  });

  it('gives every session its own id, and refuses the first format (its sessions could not be revoked)', () => {
    expect(createSessionValue(TOKEN, NOW).split('.')[2]).not.toEqual(createSessionValue(TOKEN, NOW).split('.')[2]);
    expect(verifySessionValue(`v1.${Math.floor(NOW / 1000)}.${'a'.repeat(43)}`, TOKEN, NOW)).toBeNull();
  });

  it('is read from a Cookie header among others', () => {
    expect(readSessionCookie('a=1; tributary_session=v1.2.x; b=2')).toBe('v1.2.x');
    expect(readSessionCookie('a=1')).toBeUndefined();
    expect(readSessionCookie(undefined)).toBeUndefined();
  });
});

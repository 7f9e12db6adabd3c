import { createSessionValue, readSessionCookie, SESSION_TTL_MS, verifySessionValue } from './session-cookie';

const TOKEN = 'the-admin-token-0123456789';
const NOW = Date.UTC(2026, 0, 1);

describe('session cookie', () => {
  it('is an HMAC of the token, never the token itself', () => {
    const value = createSessionValue(TOKEN, NOW);
    expect(value).not.toContain(TOKEN);
    expect(value).toMatch(/^v1\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(verifySessionValue(value, TOKEN, NOW)).toBe(true);
  });

  it('expires, and dies with the token', () => {
    const value = createSessionValue(TOKEN, NOW);
    expect(verifySessionValue(value, TOKEN, NOW + SESSION_TTL_MS - 1000)).toBe(true);
    expect(verifySessionValue(value, TOKEN, NOW + SESSION_TTL_MS + 1000)).toBe(false);
    expect(verifySessionValue(value, 'another-token-0123456789', NOW)).toBe(false);
  });

  it('cannot be stretched by editing the issue time', () => {
    const [version, issued, mac] = createSessionValue(TOKEN, NOW).split('.');
    expect(verifySessionValue(`${version}.${Number(issued) + 3600}.${mac}`, TOKEN, NOW + SESSION_TTL_MS)).toBe(false);
  });

  it('is read from a Cookie header among others', () => {
    expect(readSessionCookie('a=1; tributary_session=v1.2.x; b=2')).toBe('v1.2.x');
    expect(readSessionCookie('a=1')).toBeUndefined();
    expect(readSessionCookie(undefined)).toBeUndefined();
  });
});

import { IncomingHttpHeaders } from 'node:http';
import { Authenticator } from './authenticator';
import { SessionStore } from './session-store';
import { createSessionValue, SESSION_TTL_MS } from './session-cookie';

const TOKEN = 'the-admin-token-0123456789';
const NOW = Date.UTC(2026, 0, 1);
const auth = new Authenticator({ token: TOKEN, generated: false });
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let client = 0;

/** Each call from its own address: these cases are about credentials, not about WrongTokenLimiter (tested below). */
function check(path: string, headers: IncomingHttpHeaders, method = 'GET') {
  return auth.check({ method, path, headers, ip: `192.0.2.${++client}` }, NOW);
}

describe('Authenticator', () => {
  it('lets health, metrics and the login page through without anything', () => {
    for (const path of ['/health', '/health/live', '/metrics', '/login', '/logout', '/Health/', '/METRICS']) {
      expect(check(path, {})).toEqual({ allowed: true });
    }
  });

  it('answers 401 without credentials and 403 with wrong ones, on every other path', () => {
    for (const path of ['/api/routes', '/api/nope', '/docs', '/docs-json', '/queues', '/queues/api/queues', '/', '/health/../api']) {
      expect(check(path, {})).toMatchObject({ allowed: false, status: 401 });
      expect(check(path, { authorization: 'Bearer wrong-token-wrong-token' })).toMatchObject({ allowed: false, status: 403 });
      expect(check(path, { authorization: basic('admin', 'wrong') })).toMatchObject({ allowed: false, status: 403 });
      expect(check(path, { authorization: 'Bearer' })).toMatchObject({ allowed: false, status: 403 });
    }
  });

  it('accepts the token as Bearer, as the Basic password with any user, and a session cookie', () => {
    expect(check('/api/routes', { authorization: `Bearer ${TOKEN}` })).toEqual({ allowed: true });
    expect(check('/api/routes', { authorization: `bearer   ${TOKEN}` })).toEqual({ allowed: true });
    expect(check('/queues', { authorization: basic('anyone', TOKEN) })).toEqual({ allowed: true });
    expect(check('/queues', { authorization: basic('', TOKEN) })).toEqual({ allowed: true });
    expect(check('/docs', { cookie: `other=1; tributary_session=${createSessionValue(TOKEN, NOW)}` })).toMatchObject({ allowed: true });
  });

  it('refuses Basic credentials without a colon and unknown schemes', () => {
    expect(check('/queues', { authorization: `Basic ${Buffer.from(TOKEN).toString('base64')}` })).toMatchObject({ status: 403 });
    expect(check('/queues', { authorization: `Digest ${TOKEN}` })).toMatchObject({ status: 401 });
  });

  it('refuses expired, foreign and forged sessions with 403 and asks to clear them', () => {
    const expired = createSessionValue(TOKEN, NOW - SESSION_TTL_MS - 1000);
    const foreign = createSessionValue('another-token-0123456789', NOW);
    for (const value of [expired, foreign, 'v1.123.abc', TOKEN]) {
      expect(check('/docs', { cookie: `tributary_session=${value}` })).toMatchObject({ allowed: false, status: 403, staleSession: true });
    }
  });

  it('prefers an Authorization header over a cookie', () => {
    const cookie = `tributary_session=${createSessionValue(TOKEN, NOW)}`;
    expect(check('/docs', { cookie, authorization: 'Bearer wrong-token-wrong-token' })).toMatchObject({ status: 403 });
  });

  it('refuses cross-site writes made with browser credentials, but not with Bearer', () => {
    const cookie = `tributary_session=${createSessionValue(TOKEN, NOW)}`;
    const crossSite = { 'sec-fetch-site': 'cross-site' };
    expect(check('/api/routes', { cookie, ...crossSite }, 'POST')).toMatchObject({ status: 403, message: 'cross-site request refused' });
    expect(check('/api/routes', { authorization: basic('u', TOKEN), origin: 'https://evil.example', host: 'localhost:3000' }, 'DELETE')).toMatchObject({ status: 403 });
    expect(check('/api/routes', { authorization: basic('u', TOKEN), origin: 'http://localhost:3000', host: 'localhost:3000' }, 'DELETE')).toEqual({ allowed: true });
    expect(check('/api/routes', { cookie, 'sec-fetch-site': 'same-origin' }, 'POST')).toMatchObject({ allowed: true });
    expect(check('/api/routes', { cookie, ...crossSite }, 'GET')).toMatchObject({ allowed: true });
    expect(check('/api/routes', { authorization: `Bearer ${TOKEN}`, ...crossSite }, 'POST')).toEqual({ allowed: true });
  });

  it('compares tokens exactly', () => {
    const fresh = new Authenticator({ token: TOKEN, generated: false });
    expect(fresh.tryToken(TOKEN, 'a')).toEqual({ ok: true });
    expect(fresh.tryToken(`${TOKEN} `, 'b')).toEqual({ ok: false, waitSeconds: null });
    expect(fresh.tryToken(TOKEN.slice(0, -1), 'c')).toEqual({ ok: false, waitSeconds: null });
    expect(fresh.tryToken('', 'd')).toEqual({ ok: false, waitSeconds: null });
  });

  it('lets a cookie in only while its session is open: signed out, or lost with Redis, it is refused (SessionStore)', async () => {
    const open = new Set<string>();
    const store = {
      open: async (session: { id: string }) => void open.add(session.id),
      isOpen: async (id: string) => open.has(id),
      close: async (session: { id: string }) => void open.delete(session.id),
    };
    const withStore = new Authenticator({ token: TOKEN, generated: false }, store as unknown as SessionStore);
    const mine = `tributary_session=${await withStore.openSession(NOW)}`;
    const theirs = `tributary_session=${await withStore.openSession(NOW)}`;
    const request = (cookie: string) => withStore.authorize({ method: 'GET', path: '/docs', headers: { cookie }, ip: '192.0.2.200' }, NOW);
    expect(open.size).toBe(2);
    expect(await request(mine)).toMatchObject({ allowed: true });
    await withStore.signOut(mine, NOW);
    expect(await request(mine)).toMatchObject({ allowed: false, status: 403, message: expect.stringContaining('signed out'), staleSession: true });
    expect(await request(theirs)).toMatchObject({ allowed: true });
    // A forged cookie cannot close anything.
    await withStore.signOut('tributary_session=v2.1.AAAAAAAAAAAAAAAA.x', NOW);
    expect(open.size).toBe(1);
    // A well-signed cookie whose session the store does not know (Redis lost it) is refused too: fail closed.
    const unknown = `tributary_session=${createSessionValue(TOKEN, NOW)}`;
    expect(await request(unknown)).toMatchObject({ allowed: false, status: 403, message: expect.stringContaining('sign in again') });
  });

  it('answers 429 with Retry-After to an address that guessed wrong too often, even with the right token, and only that address', () => {
    const guarded = new Authenticator({ token: TOKEN, generated: false });
    const request = (authorization: string, ip: string) => guarded.check({ method: 'GET', path: '/api/routes', headers: { authorization }, ip }, 1_000);
    for (let i = 0; i < 5; i++) expect(request('Bearer wrong-token-wrong-token-wrong', '10.0.0.9')).toMatchObject({ status: 403 });
    expect(request('Bearer wrong-token-wrong-token-wrong', '10.0.0.9')).toMatchObject({ status: 403 });
    expect(request(`Bearer ${TOKEN}`, '10.0.0.9')).toMatchObject({ status: 429, retryAfterSeconds: 1, message: 'too many wrong tokens from this address: try again in 1 s' });
    expect(request(`Bearer ${TOKEN}`, '10.0.0.10')).toEqual({ allowed: true });
  });
});

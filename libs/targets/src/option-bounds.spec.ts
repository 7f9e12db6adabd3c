import { TargetOptionError } from './errors';
import { httpTargetOptions } from './http/http.target';
import { redisTargetOptions } from './redis/redis.target';
import { sqlTargetOptions } from './sql/sql-target';
import { sqliteTargetOptions } from './sqlite/sqlite.target';

/** The message a refused option gets, checked to be a TargetOptionError (the admin API maps that class to the options field). */
function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(TargetOptionError);
    return (error as Error).message;
  }
  throw new Error('the options were accepted');
}

describe('target options', () => {
  it('fill the defaults, from no options at all too', () => {
    expect(sqlTargetOptions('postgres', undefined)).toEqual({ poolMax: 4, acquireTimeoutMs: 10_000, connectTimeoutMs: 10_000, transactional: false });
    expect(sqliteTargetOptions({})).toEqual({ busyTimeoutMs: 5000, transactional: false });
    expect(redisTargetOptions(undefined)).toEqual({ keyTemplate: '{table}:{pk}', format: 'json', prefix: '', connectTimeoutMs: 10_000 });
    expect(httpTargetOptions({ secret: 's' })).toEqual({ secret: 's', timeoutMs: 10_000, headers: {}, retries: 2, readUrl: null });
  });

  it('keep the values given', () => {
    expect(sqlTargetOptions('mysql', { poolMax: 64, acquireTimeoutMs: 120_000, connectTimeoutMs: 1, transactional: true })).toEqual({
      poolMax: 64,
      acquireTimeoutMs: 120_000,
      connectTimeoutMs: 1,
      transactional: true,
    });
    expect(sqliteTargetOptions({ busyTimeoutMs: 0, transactional: true })).toEqual({ busyTimeoutMs: 0, transactional: true });
    expect(redisTargetOptions({ keyTemplate: 'k:{table}:{pk}', format: 'hash', prefix: 'p', connectTimeoutMs: 5 })).toEqual({ keyTemplate: 'k:{table}:{pk}', format: 'hash', prefix: 'p', connectTimeoutMs: 5 });
    expect(httpTargetOptions({ secret: 's', timeoutMs: 1, retries: 0, headers: { 'X-Api-Key': 'k' }, readUrl: 'https://h/rows' })).toEqual({
      secret: 's',
      timeoutMs: 1,
      retries: 0,
      headers: { 'X-Api-Key': 'k' },
      readUrl: 'https://h/rows',
    });
  });

  it('refuse an integer out of its bounds or not an integer, naming the option and the range', () => {
    for (const poolMax of [0, 65, 1.5, 1e15, 'many', null, true]) {
      expect(refusal(() => sqlTargetOptions('postgres', { poolMax }))).toBe('postgres target: option poolMax must be an integer from 1 to 64');
    }
    expect(refusal(() => sqlTargetOptions('mysql', { connectTimeoutMs: 1e300 }))).toBe('mysql target: option connectTimeoutMs must be an integer from 1 to 60000');
    expect(refusal(() => sqliteTargetOptions({ busyTimeoutMs: -1 }))).toBe('sqlite target: option busyTimeoutMs must be an integer from 0 to 60000');
    expect(refusal(() => httpTargetOptions({ secret: 's', retries: 1000 }))).toBe('http target: option retries must be an integer from 0 to 10');
  });

  it('take transactional as true or false on the targets with transactions across tables, and nowhere else', () => {
    for (const transactional of ['yes', 1, null]) {
      expect(refusal(() => sqlTargetOptions('postgres', { transactional }))).toBe('postgres target: option transactional must be true or false');
    }
    expect(refusal(() => redisTargetOptions({ transactional: true }))).toMatch(/^redis target: unknown option transactional/);
    expect(refusal(() => httpTargetOptions({ secret: 's', transactional: true }))).toMatch(/^http target: unknown option transactional/);
  });

  it('refuse an unknown option, listing the known ones, before any other problem', () => {
    expect(refusal(() => sqlTargetOptions('postgres', { poolMax: 0, nope: 1 }))).toBe('postgres target: unknown option nope (known: poolMax, acquireTimeoutMs, connectTimeoutMs, transactional)');
    expect(refusal(() => sqliteTargetOptions({ poolMax: 2 }))).toBe('sqlite target: unknown option poolMax (known: busyTimeoutMs, transactional)');
    expect(refusal(() => httpTargetOptions({ secret: 's', nope: 1 }))).toMatch(/^http target: unknown option nope \(known: secret, timeoutMs, headers, retries, readUrl\)$/);
    // Names every object has through its prototype are unknown options too.
    expect(refusal(() => sqlTargetOptions('postgres', { constructor: 5 }))).toMatch(/unknown option constructor/);
  });

  it('refuse a bad redis string or format', () => {
    expect(refusal(() => redisTargetOptions({ prefix: 'p'.repeat(257) }))).toBe('redis target: option prefix must be a string of at most 256 characters');
    expect(refusal(() => redisTargetOptions({ format: 'xml' }))).toBe('redis target: option format has an invalid value');
    expect(refusal(() => redisTargetOptions({ keyTemplate: '{table}' }))).toMatch(/must contain \{pk\}/);
  });

  it('refuse a webhook without a usable secret, never showing it', () => {
    for (const secret of [undefined, '', 's'.repeat(1025), 7]) {
      const message = refusal(() => httpTargetOptions({ secret }));
      expect(message).toBe('http target: option secret (a non-empty string of at most 1024 characters) is required');
    }
  });

  it('refuse bad webhook headers and read URLs', () => {
    const options = (more: Record<string, unknown>) => () => httpTargetOptions({ secret: 's', ...more });
    expect(refusal(options({ headers: ['a'] }))).toBe('http target: option headers must be an object of strings');
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`h${i}`, 'v']));
    expect(refusal(options({ headers: many }))).toBe('http target: option headers may hold at most 32 headers');
    expect(refusal(options({ headers: { 'X-Key': 5 } }))).toBe('http target: header X-Key must be a string of at most 4096 characters');
    expect(refusal(options({ headers: { 'X-Tributary-Signature': 'x' } }))).toBe('http target: header X-Tributary-Signature is set by Tributary');
    expect(refusal(options({ readUrl: 5 }))).toBe('http target: option readUrl must be a URL');
    expect(refusal(options({ readUrl: 'ftp://h/rows' }))).toBe('http target: the readUrl must start with http:// or https://');
  });
});

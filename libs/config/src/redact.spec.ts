import { REDACT_SCAN_LIMIT, redactSecrets, redactUrl } from './redact';

describe('redactSecrets', () => {
  it('masks URL passwords and Authorization values', () => {
    expect(redactSecrets('at mysql://root:hunter2@db:3306/x and postgres://u:p%40ss@h/db')).toBe('at mysql://root:***@db:3306/x and postgres://u:***@h/db');
    expect(redactSecrets('header Bearer abc.def-123 and Basic dXNlcjpwYXNz')).toBe('header Bearer *** and Basic ***');
    expect(redactSecrets('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('masks secret-looking query parameters, which drivers read credentials from', () => {
    expect(redactSecrets('connect postgres://app@db/x?password=s3cret&sslmode=require&sslkey=/k.pem failed')).toBe(
      'connect postgres://app@db/x?password=***&sslmode=require&sslkey=*** failed',
    );
    expect(redactSecrets('GET /hook?api_token=abc123;auth=xyz')).toBe('GET /hook?api_token=***;auth=***');
  });

  it('masks a URL inside SQL text or JSON, as driver errors print them', () => {
    expect(redactSecrets(`insert into t values ('mysql://root:pw@h/db')`)).toBe(`insert into t values ('mysql://root:***@h/db')`);
    expect(redactSecrets('{"url":"postgres://u:pw@h/db?password=pw2"}')).toBe('{"url":"postgres://u:***@h/db?password=***"}');
  });

  it('masks secret-looking JSON fields, as options appear in statements and echoed bodies', () => {
    expect(redactSecrets(`values ('{"secret":"hook-s3cret","timeoutMs":5}')`)).toBe(`values ('{"secret":"***","timeoutMs":5}')`);
    expect(redactSecrets('{"db_password" : "a\\"b", "name": "x"}')).toBe('{"db_password" : "***", "name": "x"}');
  });

  it('leaves text past the scan limit out, saying how much', () => {
    const long = 'x'.repeat(REDACT_SCAN_LIMIT + 10);
    expect(redactSecrets(long)).toBe(`${'x'.repeat(REDACT_SCAN_LIMIT)}… (10 more characters left out)`);
  });

  // Not a benchmark: a quadratic pattern takes minutes on these inputs (11.6 s for 100 KB of letters
  // before), a linear one milliseconds; a whole second is a generous bound on any machine.
  it.each([
    ['letters', 'a'.repeat(1_000_000)],
    ['schemes', 'a://'.repeat(250_000)],
    ['userinfo', 'x://' + 'u:'.repeat(500_000)],
    ['parameters', '?pass'.repeat(200_000)],
    ['bearers', 'bearer '.repeat(150_000)],
    ['json fields', '"secret": "'.repeat(90_000)],
  ])('masks 1 MB of adversarial text (%s) in well under a second', (_name, text) => {
    const started = performance.now();
    redactSecrets(text);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('redactUrl', () => {
  it('masks the password and secret-looking query values, and nothing else', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactUrl('postgres://app@db/x?password=s3cret&sslmode=require&sslkey=/k.pem')).toBe('postgres://app@db/x?password=***&sslmode=require&sslkey=***');
    expect(redactUrl('mysql://root@127.0.0.1:3306/shop')).toBe('mysql://root@127.0.0.1:3306/shop');
    expect(redactUrl('not a url')).toBe('<invalid url>');
  });
});

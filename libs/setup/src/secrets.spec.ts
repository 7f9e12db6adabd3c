import { redactUrl as redactConnectionUrl } from '@tributary/config';
import { redactOptions, scrub, secretsOf } from './secrets';

describe('secrets', () => {
  it('redacts the password and secret-looking query parameters of a URL', () => {
    expect(redactConnectionUrl('postgres://app:s3cret@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactConnectionUrl('postgres://app@db/x?password=s3cret&sslmode=require&sslkey=/k.pem')).toBe(
      'postgres://app@db/x?password=***&sslmode=require&sslkey=***',
    );
    expect(redactConnectionUrl('not a url')).toBe('<invalid url>');
  });

  it('redacts secret-looking options at any depth and keeps the rest', () => {
    expect(redactOptions({ poolMax: 4, apiToken: 'abc', tls: { passphrase: 'p', ca: 'x' }, list: [{ secret: 1 }] })).toEqual({
      poolMax: 4,
      apiToken: '***',
      tls: { passphrase: '***', ca: 'x' },
      list: [{ secret: '***' }],
    });
  });

  it('finds the secrets a URL carries, encoded and decoded, and scrubs them from text', () => {
    const url = 'mysql://app:p%40ss@db/x?password=q%21';
    const secrets = secretsOf(url);
    expect(secrets).toEqual(expect.arrayContaining(['p%40ss', 'p@ss', 'q!', 'q%21']));
    expect(scrub("Access denied for 'app' using p@ss; also q! and p%40ss", secrets)).toBe("Access denied for 'app' using ***; also *** and ***");
  });

  it('treats text that is not a URL as a secret as a whole', () => {
    expect(scrub('bad: hunter2 x', secretsOf('hunter2 x'))).toBe('bad: ***');
  });

  it('scrubs secret option values too', () => {
    expect(scrub('token abc rejected', secretsOf('postgres://db/x', { token: 'abc' }))).toBe('token *** rejected');
  });
});

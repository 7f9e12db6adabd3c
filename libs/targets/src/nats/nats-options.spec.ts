import { TargetOptionError, TargetUrlError } from '../errors';
import { checkNatsUrl, natsTargetOptions, scrub } from './nats-options';

describe('nats target url', () => {
  it('takes nats:// and tls:// with credentials, handing the client a server without them', () => {
    expect(checkNatsUrl('nats://u%40x:p%2Fw@broker.local:4333')).toEqual({
      server: 'broker.local:4333',
      tls: false,
      user: 'u@x',
      pass: 'p/w',
      shown: 'nats://broker.local:4333',
      secrets: ['p%2Fw', 'p/w'],
    });
    expect(checkNatsUrl('tls://broker')).toMatchObject({ server: 'broker:4222', tls: true, user: undefined, pass: undefined, shown: 'tls://broker:4222', secrets: [] });
    expect(checkNatsUrl('nats://[::1]:4223').server).toBe('[::1]:4223');
  });

  it('refuses other schemes, a missing host, and a path or query, without showing the password', () => {
    for (const url of ['http://u:secret@h:4222', 'nats://u:secret@', 'nats://u:secret@h/x', 'nats://u:secret@h?servers=a', 'not a url secret']) {
      let error: unknown = null;
      try {
        checkNatsUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TargetUrlError);
      expect(String(error)).not.toContain('secret');
    }
  });

  it('scrubs every form of the password from a text', () => {
    const { secrets } = checkNatsUrl('nats://u:a%2Fb@h');
    expect(scrub('auth a/b and a%2Fb failed', secrets)).toBe('auth *** and *** failed');
  });
});

describe('nats target options', () => {
  it('has defaults for every option', () => {
    expect(natsTargetOptions(undefined)).toEqual({
      stream: 'TRIBUTARY',
      subjectPrefix: 'tributary',
      buckets: 16,
      duplicateWindowSeconds: 120,
      createStream: true,
      maxInFlight: 256,
      connectTimeoutMs: 10_000,
      timeoutMs: 10_000,
    });
  });

  it.each([
    [{ stream: 'has.dot' }, /option stream must be 1 to 64 characters/],
    [{ stream: '' }, /option stream must be/],
    [{ subjectPrefix: 'a.>' }, /option subjectPrefix must be tokens/],
    [{ subjectPrefix: '.a' }, /option subjectPrefix must be tokens/],
    [{ subjectPrefix: 'x'.repeat(65) }, /at most 64 characters/],
    [{ buckets: 1025 }, /option buckets must be an integer from 1 to 1024/],
    [{ duplicateWindowSeconds: 0 }, /option duplicateWindowSeconds must be an integer from 1 to 604800/],
    [{ createStream: 1 }, /option createStream must be true or false/],
    [{ maxInFlight: 0 }, /option maxInFlight must be an integer from 1 to 65535/],
    [{ timeoutMs: 1e9 }, /option timeoutMs must be an integer/],
    [{ bucket: 4 }, /unknown option bucket \(known: stream, subjectPrefix, buckets/],
  ])('refuses %j', (options, message) => {
    expect(() => natsTargetOptions(options)).toThrow(TargetOptionError);
    expect(() => natsTargetOptions(options)).toThrow(message);
  });
});

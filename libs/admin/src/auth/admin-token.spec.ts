import { AdminTokenRequiredError, decideAdminToken, generateAdminToken, isLoopbackHost } from './admin-token';

describe('decideAdminToken', () => {
  const generate = () => 'generated-token-for-this-process';

  it('uses ADMIN_TOKEN when it is set, on any interface', () => {
    for (const host of ['127.0.0.1', '0.0.0.0', '10.1.2.3', '::']) {
      expect(decideAdminToken({ host, token: 'configured-token-16' }, generate)).toEqual({ token: 'configured-token-16', generated: false });
    }
  });

  it('generates a token for this process when unset on a loopback address', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(decideAdminToken({ host, token: undefined }, generate)).toEqual({ token: 'generated-token-for-this-process', generated: true });
    }
  });

  it('refuses to start when unset on anything else, saying a token is required', () => {
    for (const host of ['0.0.0.0', '::', '', '192.168.1.10', '128.0.0.1', 'example.com', 'localhost.evil.com', '::2', '::ffff:10.0.0.1']) {
      expect(() => decideAdminToken({ host, token: undefined }, generate)).toThrow(AdminTokenRequiredError);
    }
    expect(() => decideAdminToken({ host: '0.0.0.0', token: undefined }, generate)).toThrow(/ADMIN_TOKEN is required/);
  });

  it('treats an empty ADMIN_TOKEN as unset', () => {
    expect(() => decideAdminToken({ host: '0.0.0.0', token: '' }, generate)).toThrow(AdminTokenRequiredError);
  });
});

describe('isLoopbackHost', () => {
  it('knows loopback from wildcard and routable addresses', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost(' ::1 ')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('127.0.0')).toBe(false);
  });
});

describe('generateAdminToken', () => {
  it('makes long, distinct, URL-safe tokens that pass the ADMIN_TOKEN rule', () => {
    const a = generateAdminToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateAdminToken()).not.toBe(a);
  });
});

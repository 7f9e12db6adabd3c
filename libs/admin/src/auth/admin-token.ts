import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

/** The token the admin accepts, and whether this process made it up (ADMIN_TOKEN unset on loopback). */
export interface AdminTokenDecision {
  token: string;
  generated: boolean;
}

/** ADMIN_TOKEN is unset and the admin would listen where other machines can reach it. */
export class AdminTokenRequiredError extends Error {
  constructor(host: string) {
    super(
      `ADMIN_TOKEN is required when ADMIN_HOST (${host}) is not a loopback address: ` +
        'set ADMIN_TOKEN to a random string of at least 16 characters',
    );
    this.name = 'AdminTokenRequiredError';
  }
}

/**
 * Closed by default (invariant 10): the configured token if there is one;
 * otherwise, on a loopback address only, a random token for this process
 * (the caller prints it once, like Jupyter); anywhere else a refusal.
 */
export function decideAdminToken(
  admin: { host: string; token: string | undefined },
  generate: () => string = generateAdminToken,
): AdminTokenDecision {
  if (admin.token) return { token: admin.token, generated: false };
  if (!isLoopbackHost(admin.host)) throw new AdminTokenRequiredError(admin.host);
  return { token: generate(), generated: true };
}

/** 256 random bits, URL-safe, so it can be pasted anywhere. */
export function generateAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

/** 127.0.0.0/8, ::1 (also bracketed or IPv4-mapped) and `localhost`. Wildcards (0.0.0.0, ::) are not. */
export function isLoopbackHost(host: string): boolean {
  const name = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost') return true;
  const mapped = name.startsWith('::ffff:') ? name.slice('::ffff:'.length) : name;
  if (isIP(mapped) === 4) return mapped.split('.')[0] === '127';
  if (isIP(name) === 6) return expandIpv6(name) === '0000:0000:0000:0000:0000:0000:0000:0001';
  return false;
}

function expandIpv6(address: string): string {
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  const groups = address.includes('::') ? [...left, ...Array<string>(missing).fill('0'), ...right] : left;
  return groups.map((group) => group.padStart(4, '0')).join(':');
}

import { isSecretName } from '@tributary/config';

/**
 * Keeping credentials out of everything the configuration operations hand
 * back (invariant 10). A URL's password is the obvious secret, but drivers
 * also read credentials from query parameters (pg: `?password=`, `?sslkey=`),
 * so those are masked too, and so are option values under secret-looking
 * names. URLs are masked by redactUrl of @tributary/config.
 */

const MASK = '***';

/** Options with every value under a secret-looking name (at any depth) replaced by `***`. */
export function redactOptions(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map(([name, value]) => [name, isSecretName(name) ? MASK : redactValue(value)]),
  );
}

function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object') return redactOptions(value as Record<string, unknown>);
  return value;
}

/** The secret strings a URL and options carry, as written and decoded, for scrub(). */
export function secretsOf(url: string, options: Record<string, unknown> = {}): string[] {
  const secrets = new Set<string>();
  const add = (value: string) => {
    if (value.length === 0) return;
    secrets.add(value);
    try {
      secrets.add(decodeURIComponent(value));
    } catch {
      // not percent-encoded text; the raw form is enough
    }
  };
  try {
    const parsed = new URL(url);
    add(parsed.password);
    for (const [name, value] of parsed.searchParams) if (isSecretName(name)) add(value);
    // searchParams decodes; the raw query text may spell the value differently.
    for (const pair of parsed.search.replace(/^\?/, '').split('&')) {
      const [name, value = ''] = pair.split('=');
      if (isSecretName(safeDecode(name))) add(value);
    }
  } catch {
    // Not a URL: nothing to pick apart, but the whole text may be a secret in disguise.
    add(url);
  }
  collectSecretOptions(options, add);
  return [...secrets].sort((a, b) => b.length - a.length);
}

function collectSecretOptions(options: Record<string, unknown>, add: (value: string) => void): void {
  for (const [name, value] of Object.entries(options)) {
    if (isSecretName(name) && (typeof value === 'string' || typeof value === 'number')) add(String(value));
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) collectSecretOptions(value as Record<string, unknown>, add);
  }
}

/** The text with every occurrence of each secret replaced by `***`; longest first, so no fragment of one is left. */
export function scrub(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join(MASK);
  return result;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Keeping secrets out of logs, errors and API answers (invariant 10): the
 * one home of every masking rule, used by every app and lib.
 */

const MASK = '***';

/** Names under which a value is a secret: URL query parameters, target options. */
const SECRET_NAME = /pass|secret|token|key|credential|auth|cert/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * The URL with its password and every secret-looking query value (drivers
 * read credentials from `?password=`, `?sslkey=`, …) replaced by `***`;
 * `<invalid url>` for text that is not a URL.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<invalid url>';
  }
  if (parsed.password) parsed.password = MASK;
  for (const name of [...parsed.searchParams.keys()]) {
    if (isSecretName(name)) parsed.searchParams.set(name, MASK);
  }
  // URLSearchParams encodes '*' as %2A; show the mask as written.
  return parsed.toString().replace(/%2A%2A%2A/g, MASK);
}

/** Free text longer than this is cut before masking: logs and error answers need no more. */
export const REDACT_SCAN_LIMIT = 64 * 1024;

/*
 * Every quantifier below is bounded and every pattern starts at a word
 * boundary or a delimiter, so masking is linear in the text: an unbounded
 * `[a-z][a-z0-9+.-]*://` took 11.6 s for 100 KB of letters, and ran on every
 * error that echoed a request field, stalling the whole process.
 */
/** scheme://user:password@ → scheme://user:***@ */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@]{0,256}:)[^\s@/]{1,1024}@/gi;
/** ?password=… &sslkey=… ;token=… → the value masked */
const SECRET_PARAMETER = /([?&;][a-z0-9_.-]{0,32}(?:pass|secret|token|key|credential|auth|cert)[a-z0-9_.-]{0,32}=)[^&;\s#'"]{1,1024}/gi;
/** "password": "…", "secret":"…" in JSON text (options as stored, a request echoed) → the value masked */
const SECRET_JSON_FIELD = /("[a-z0-9_.-]{0,32}(?:pass|secret|token|key|credential|auth|cert)[a-z0-9_.-]{0,32}"[ \t]{0,8}:[ \t]{0,8}")(?:[^"\\]|\\.){1,1024}"/gi;
/** Authorization: Bearer …, Basic … */
const AUTHORIZATION = /\b(bearer|basic)[ \t]{1,16}[A-Za-z0-9._~+/=-]{1,4096}/gi;

/**
 * Masks credentials inside free text (error messages, stacks, driver
 * errors) before it is logged or answered: passwords in URLs,
 * secret-looking query parameters and JSON fields, Authorization values. Linear time;
 * text past REDACT_SCAN_LIMIT is left out.
 */
export function redactSecrets(text: string): string {
  const capped = text.length > REDACT_SCAN_LIMIT ? `${text.slice(0, REDACT_SCAN_LIMIT)}… (${text.length - REDACT_SCAN_LIMIT} more characters left out)` : text;
  return capped
    .replace(URL_PASSWORD, `$1${MASK}@`)
    .replace(SECRET_PARAMETER, `$1${MASK}`)
    .replace(SECRET_JSON_FIELD, `$1${MASK}"`)
    .replace(AUTHORIZATION, `$1 ${MASK}`);
}

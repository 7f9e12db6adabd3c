/** What the admin API answered: status, the body parsed as JSON (null if empty or not JSON), and its text. */
export interface AdminAnswer<T> {
  status: number;
  json: T;
  text: string;
}

/** A request body sent exactly as written (not JSON.stringify'd): malformed JSON, hostile nesting. */
export class RawBody {
  constructor(readonly text: string) {}
}

export interface AdminClientOptions {
  /** Sees every answer's text (e.g. to prove no secret ever comes back out). */
  record?: (text: string) => void;
}

/**
 * A test's client of the admin REST API: the bearer token on every call
 * unless the call gives its own headers (`{}`: anonymous), bodies sent and
 * read as JSON. `baseUrl` is asked at each call (a suite learns its app's
 * port in beforeAll). `Body` is what a call returns unless it says.
 */
export function adminClient<Body = Record<string, unknown>>(baseUrl: () => string, token: string, options: AdminClientOptions = {}) {
  return async function call<T = Body>(method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }): Promise<AdminAnswer<T>> {
    const sent = { ...headers };
    if (body !== undefined) sent['content-type'] = 'application/json';
    const payload = body === undefined ? undefined : body instanceof RawBody ? body.text : JSON.stringify(body);
    const response = await fetch(baseUrl() + path, { method, headers: sent, body: payload });
    const text = await response.text();
    options.record?.(text);
    return { status: response.status, json: parseJson(text) as T, text };
  };
}

/** The body as JSON; null when empty or not JSON (e.g. /metrics), which the test's assertions then show. */
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

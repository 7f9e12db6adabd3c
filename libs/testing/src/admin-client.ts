/** What the admin API answered: status, the body parsed as JSON (null if empty), and its text. */
export interface AdminAnswer<T> {
  status: number;
  json: T;
  text: string;
}

/**
 * A test's client of the admin REST API: the bearer token on every call,
 * bodies sent and read as JSON. `baseUrl` is asked at each call (a suite
 * learns its app's port in beforeAll). `Body` is what a call returns unless it says.
 */
export function adminClient<Body = Record<string, unknown>>(baseUrl: () => string, token: string) {
  return async function call<T = Body>(method: string, path: string, body?: unknown): Promise<AdminAnswer<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(baseUrl() + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, json: (text ? JSON.parse(text) : null) as T, text };
  };
}

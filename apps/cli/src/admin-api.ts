import { redactSecrets } from '@tributary/config';

/**
 * The CLI's client of the admin REST API, for the commands that read a
 * running deployment (status, routes, dead letters): they work against a
 * remote one as well as a local one, with only its URL and token.
 */
export class AdminApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  /** Where and how: TRIBUTARY_ADMIN_URL (default the admin's default address) and ADMIN_TOKEN. */
  static fromEnv(env: Record<string, string | undefined>): AdminApi {
    return new AdminApi((env.TRIBUTARY_ADMIN_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''), env.ADMIN_TOKEN);
  }

  /** @throws AdminApiError: unreachable, refused or not found, with the admin's own message. */
  async get<T>(path: string): Promise<T> {
    return (await this.request<T>('GET', path, undefined, [])).body;
  }

  /** POST with a JSON body; an answer whose status is in `alsoAnswers` (e.g. 408 from /api/wait) is an answer, not an error. */
  async post<T>(path: string, body: unknown, alsoAnswers: readonly number[] = []): Promise<{ status: number; body: T }> {
    return this.request<T>('POST', path, body, alsoAnswers);
  }

  private async request<T>(method: string, path: string, body: unknown, alsoAnswers: readonly number[]): Promise<{ status: number; body: T }> {
    if (hasCredentials(this.baseUrl)) throw new AdminApiError('TRIBUTARY_ADMIN_URL must not carry a user or password: the admin API takes the token in ADMIN_TOKEN');
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(this.baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new AdminApiError(`the admin API at ${safeOrigin(this.baseUrl)} did not answer: ${causeOf(error)}`);
    }
    const text = await response.text();
    if (!response.ok && !alsoAnswers.includes(response.status)) {
      throw new AdminApiError(`${response.status} from the admin API: ${messageOf(text)}${response.status === 401 ? ' (set ADMIN_TOKEN)' : ''}`);
    }
    return { status: response.status, body: JSON.parse(text) as T };
  }
}

export class AdminApiError extends Error {}

/** The URL without credentials, path or query: only what tells the user where it tried. */
function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'TRIBUTARY_ADMIN_URL';
  }
}

function hasCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}

/** The network error's code (ECONNREFUSED, ENOTFOUND…), else its message with any URL's password masked. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? redactSecrets(cause?.message ?? (error as Error).message);
}

function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

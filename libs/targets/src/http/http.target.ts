import { z } from 'zod';
import { Row, RowChange, TargetTableSpec } from '@tributary/model';
import { planBatch } from '../apply-plan';
import { TargetConfigError, TargetNotReadableError, TargetUrlError, TargetOptionError, TransientTargetError } from '../errors';
import { failingWith, integerOption, OPTION_BOUNDS, parseTargetOptions, targetOptions } from '../option-bounds';
import { fromWireRow, JsonValue, requestIdempotencyKey, SIGNATURE_HEADER, signBody, toWireBatch, WireAck } from './http-wire';
import { checkScanLimit, decodeKeyCursor, encodeKeyCursor, keyIdentity } from '../key-cursor';
import { compareByKey } from '../row-order';
import { evolvedTable, ExistingTable, tableProblems } from '../sql/table-evolution';
import { validateTableSpec } from '../table-spec';
import { ApplyBatch, ApplyHooks, ApplyResult, RejectedChange, Target, TargetCheckpoint, TargetConnection, TargetFactory } from '../target';
import { checkRecordedShape, ProcessCheckpoints, sendableChanges } from '../unstored-tables';

/** Options of the HTTP webhook target (TargetConnection.options). */
export interface HttpTargetOptions {
  /** HMAC-SHA256 key for the signature header. Required; never returned by the API or logged. */
  secret: string;
  /** Per request (default 10 000 ms); a timeout is retried like a 5xx. */
  timeoutMs: number;
  /** Extra request headers (e.g. a receiver's API key); cannot replace Tributary's own. */
  headers: Record<string, string>;
  /** Retries of one request on 5xx, 408, 429, timeouts and network errors, with backoff, before apply fails as transient (default 2). */
  retries: number;
  /**
   * Optional: a URL the receiver serves its current rows at (`GET ?table=<name>`,
   * signed over the query string, answering `{ rows: [...] }`), for readRows,
   * readRowsByKeys and scanRows (tests and verify). Without it, they are
   * refused with TargetNotReadableError: the route cannot be verified.
   */
  readUrl: string | null;
}

/** Headers the target sets itself; options.headers may not override them. */
const OWN_HEADERS = new Set(['content-type', 'authorization', 'idempotency-key', SIGNATURE_HEADER.toLowerCase()]);

/**
 * HTTP webhook target: each batch is one signed JSON POST (http-wire.ts).
 *
 * Delivery is at least once: a webhook has no transaction to keep a
 * checkpoint in, so the worker's progress in the control schema is the
 * route's durable checkpoint, and a retried or replayed batch is sent again
 * with the same idempotency keys (`<route>:<seq>:<key digest>` per change). Receivers
 * must apply idempotently and monotonically per row (invariant 4 moves to
 * them). readCheckpoint reports only what this process delivered.
 *
 * Answers: 2xx delivered; 5xx, 408, 429, timeouts and network errors are
 * retried, then TransientTargetError (the worker retries in order); 401/403
 * (wrong secret or credentials) are transient too, so a misconfiguration
 * stalls the route visibly instead of dead-lettering every change; any other
 * 4xx refuses the batch, which is then sent again one change per request to
 * find the bad ones: those become RejectedChanges (status and a snippet of
 * the answer), the others are delivered.
 */
export class HttpTarget implements Target {
  readonly kind = 'http';
  private readonly url: string;
  private readonly auth: string | null;
  private readonly options: HttpTargetOptions;
  private readonly tables = new Map<string, ExistingTable>();
  private readonly checkpoints = new ProcessCheckpoints();

  /** @param allowedHosts when not null, the only hosts (`host` or `host:port`) the url and readUrl may name. */
  constructor(connection: TargetConnection, allowedHosts: readonly string[] | null = null) {
    this.options = httpTargetOptions(connection.options);
    const parsed = checkHttpUrl(connection.url, 'url');
    checkAllowedHost(parsed, allowedHosts, 'url');
    if (this.options.readUrl) checkAllowedHost(new URL(this.options.readUrl), allowedHosts, 'readUrl');
    // fetch refuses URLs with credentials: send them as Basic auth instead.
    this.auth = parsed.username || parsed.password ? `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}` : null;
    parsed.username = '';
    parsed.password = '';
    this.url = parsed.toString();
  }

  /**
   * Nothing to create at a webhook: records the table's shape (in this
   * process), its steps carried out on the recorded columns and remembered
   * with them, to refuse a key change as the SQL targets do. The receiver
   * learns of a rename or drop from the columns of the batches that follow;
   * what it does with the rows it holds is its own.
   */
  async ensureTable(table: TargetTableSpec): Promise<void> {
    const spec = validateTableSpec(table);
    this.tables.set(spec.name, evolvedTable(this.tables.get(spec.name) ?? null, spec));
  }

  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    return tableProblems(spec, this.tables.get(spec.name) ?? null, false);
  }

  async apply(batch: ApplyBatch, hooks: ApplyHooks): Promise<ApplyResult> {
    const { changes, invalid } = sendableChanges(this.kind, batch, hooks);
    if (changes.length > 0) checkRecordedShape(this.kind, this.tables.get(batch.table.name), batch.table);
    const result: ApplyResult = { applied: 0, skipped: 0, rejected: [...invalid] };
    const superseded: number[] = [];
    if (changes.length > 0) {
      const whole = await this.deliver(batch, changes, batch.watermark);
      if (whole.ok) add(result, superseded, whole.ack, planBatch(batch.table, changes).writes.length);
      else if (changes.length === 1) result.rejected.push(refusal(changes[0], whole));
      else {
        // Find the refused changes: one request each, in seq order (per-row order holds, invariant 5).
        for (const change of changes) {
          const single = await this.deliver(batch, [change], 0);
          if (single.ok) add(result, superseded, single.ack, planBatch(batch.table, [change]).writes.length);
          else result.rejected.push(refusal(change, single));
        }
      }
    }
    if (result.rejected.length > 0) await hooks.recordRejected(result.rejected);
    this.checkpoints.save(batch.routeId, batch.watermark);
    if (batch.reapply) result.superseded = superseded.sort((a, b) => a - b);
    return result;
  }

  /** POSTs changes; retries what may pass later, throws TransientTargetError when retries are used up. */
  private async deliver(batch: ApplyBatch, changes: RowChange[], watermark: number): Promise<Delivery> {
    const body = JSON.stringify(toWireBatch(batch.routeId, this.asRecorded(batch.table), watermark, batch.reapply === true, batch.origin, changes));
    const headers: Record<string, string> = {
      ...this.options.headers,
      'content-type': 'application/json',
      'idempotency-key': requestIdempotencyKey(batch.routeId, changes),
      [SIGNATURE_HEADER]: signBody(this.options.secret, body),
    };
    if (this.auth) headers.authorization = this.auth;
    for (let attempt = 0; ; attempt += 1) {
      const answer = await this.request(this.url, { method: 'POST', headers, body });
      if (answer.status >= 200 && answer.status < 300) return { ok: true, ack: parseAck(answer.text) };
      if (!retryable(answer.status)) return { ok: false, status: answer.status, text: answer.text };
      if (attempt >= this.options.retries) {
        throw new TransientTargetError(`http target: ${this.shownUrl()} answered HTTP ${answer.status}${answer.status === 401 || answer.status === 403 ? ' (check the secret)' : ''}`, String(answer.status));
      }
      await sleep(backoff(attempt));
    }
  }

  /** One request with a timeout; network errors and timeouts retried, then transient. Never logs or returns the secret. */
  private async request(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; text: string }> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(this.options.timeoutMs) });
        return { status: response.status, text: await response.text() };
      } catch (error) {
        if (attempt >= this.options.retries) {
          const code = networkCode(error);
          throw new TransientTargetError(`http target: ${init.method} ${this.shownUrl()} failed (${code})`, code);
        }
        await sleep(backoff(attempt));
      }
    }
  }


  /**
   * The batch's table with each column's nullability as ensureTable left it
   * (a column made NULL-able stays so, as in a SQL table), so the receiver
   * judges rows against the table, not against an older spec.
   */
  private asRecorded(table: TargetTableSpec): TargetTableSpec {
    const existing = this.tables.get(table.name);
    if (!existing) return table;
    const nullable = new Map(existing.columns.map((c) => [c.name, c.nullable]));
    return { ...table, columns: table.columns.map((c) => ({ ...c, nullable: nullable.get(c.name) ?? c.nullable })) };
  }


  /** What this process delivered: not durable (see the class comment). */
  async readCheckpoint(routeId: string): Promise<TargetCheckpoint | null> {
    return this.checkpoints.read(routeId);
  }

  /**
   * Asks the receiver for its rows at options.readUrl.
   *
   * @throws TargetNotReadableError without a readUrl: a webhook cannot be read back otherwise.
   */
  async readRows(table: TargetTableSpec): Promise<Row[]> {
    const spec = validateTableSpec(table);
    const readUrl = this.readUrl();
    const existing = this.tables.get(spec.name);
    const unknown = existing ? spec.columns.filter((c) => !existing.columns.some((e) => e.name === c.name)).map((c) => c.name) : [];
    if (unknown.length > 0) throw new TargetConfigError(`http target: table ${spec.name} has no column ${unknown.join(', ')}`);
    const query = new URLSearchParams({ table: spec.name }).toString();
    const url = new URL(readUrl);
    url.search = query;
    const answer = await this.request(url.toString(), { method: 'GET', headers: { [SIGNATURE_HEADER]: signBody(this.options.secret, query) } });
    if (answer.status !== 200) throw new TransientTargetError(`http target: reading rows answered HTTP ${answer.status}`, String(answer.status));
    const rows = (JSON.parse(answer.text) as { rows: Record<string, JsonValue>[] }).rows;
    return rows.map((wire) => fromWireRow(spec.columns, wire)).map((row) => fill(spec, row)).sort(compareByKey(spec.key));
  }

  /**
   * The rows of `keys`, picked out of one readRows: the read protocol
   * (`GET ?table=`) is implemented by receivers and has no key filter, so it
   * is not extended for this. One request per call, whatever the key count.
   *
   * @throws TargetNotReadableError without a readUrl.
   */
  async readRowsByKeys(table: TargetTableSpec, keys: Row[]): Promise<Row[]> {
    const spec = validateTableSpec(table);
    this.readUrl();
    const wanted = new Set(keys.map((key) => keyIdentity(spec, key)));
    if (wanted.size === 0) return [];
    return (await this.readRows(spec)).filter((row) => wanted.has(keyIdentity(spec, row)));
  }

  /**
   * One page in key order (compareByKey, as readRows sorts), after the key
   * the cursor names (key-cursor.ts): keyset pagination, so rows the receiver
   * gains or loses meanwhile shift no other row between pages. The receiver
   * can only send all rows, so every page is one full readRows: fine for the
   * small tables a webhook receiver serves back; use large pages otherwise.
   *
   * @throws TargetNotReadableError without a readUrl.
   */
  async scanRows(table: TargetTableSpec, cursor: string | null, limit: number): Promise<{ rows: Row[]; next: string | null }> {
    const spec = validateTableSpec(table);
    this.readUrl();
    checkScanLimit(limit);
    const after = cursor === null ? null : decodeKeyCursor(spec, cursor);
    const order = compareByKey(spec.key);
    const rest = (await this.readRows(spec)).filter((row) => after === null || order(row, after) > 0);
    const rows = rest.slice(0, limit);
    return { rows, next: rest.length > limit ? encodeKeyCursor(spec, rows[rows.length - 1]) : null };
  }

  /** options.readUrl, or the refusal every read gets without it. */
  private readUrl(): string {
    if (this.options.readUrl) return this.options.readUrl;
    throw new TargetNotReadableError(
      'http target: a webhook target cannot be read back without the readUrl option (a receiver URL serving its rows), so it cannot be verified',
    );
  }

  /** Any HTTP answer (even 404 or 405 to a HEAD) shows the receiver is reachable. */
  async ping(): Promise<void> {
    await this.request(this.url, { method: 'HEAD', headers: { ...this.options.headers } });
  }

  async close(): Promise<void> {
    this.tables.clear();
  }

  private shownUrl(): string {
    const shown = new URL(this.url);
    shown.search = '';
    return shown.toString();
  }
}

type Delivery = { ok: true; ack: WireAck } | { ok: false; status: number; text: string };

function add(result: ApplyResult, superseded: number[], ack: WireAck, writes: number): void {
  result.applied += ack.applied ?? writes;
  result.skipped += ack.skipped ?? 0;
  superseded.push(...(ack.superseded ?? []));
}

function refusal(change: RowChange, answer: { status: number; text: string }): RejectedChange {
  const snippet = answer.text.length > 300 ? `${answer.text.slice(0, 300)}…` : answer.text;
  return { change, reason: `HTTP ${answer.status}: ${snippet}`, code: String(answer.status) };
}

function parseAck(text: string): WireAck {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    const ack = parsed as Record<string, unknown>;
    return {
      applied: typeof ack.applied === 'number' ? ack.applied : undefined,
      skipped: typeof ack.skipped === 'number' ? ack.skipped : undefined,
      superseded: Array.isArray(ack.superseded) ? ack.superseded.map(Number) : undefined,
    };
  } catch {
    return {}; // any 2xx body is fine: the counts are optional
  }
}

function fill(spec: TargetTableSpec, row: Row): Row {
  for (const column of spec.columns) row[column.name] ??= null;
  return row;
}

/** 401/403: a wrong secret must not dead-letter every change; 408/425/429: try again later. */
function retryable(status: number): boolean {
  return status >= 500 || status < 200 || (status >= 300 && status < 400) || [401, 403, 408, 425, 429].includes(status);
}

function backoff(attempt: number): number {
  return 100 * 2 ** attempt;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function networkCode(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'ETIMEDOUT';
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}

function checkHttpUrl(url: string, what: 'url' | 'readUrl'): URL {
  const Invalid = what === 'url' ? TargetUrlError : TargetOptionError;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Invalid(`http target: the ${what} is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Invalid(`http target: the ${what} must start with http:// or https://`);
  return parsed;
}

const MAX_SECRET_LENGTH = 1024;
const MAX_HEADERS = 32;
const MAX_HEADER_LENGTH = 4096;

/**
 * HTTP_TARGET_HOSTS: an operator may limit where webhooks go, so the admin
 * API cannot be used to make the worker call internal services (metadata
 * endpoints, databases on the private network). A host matches by name, or
 * by name and port when the entry has one.
 */
function checkAllowedHost(url: URL, allowedHosts: readonly string[] | null, what: 'url' | 'readUrl'): void {
  if (allowedHosts === null) return;
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const allowed = allowedHosts.some((entry) => {
    const [name, entryPort] = entry.toLowerCase().split(/:(?=\d+$)/);
    return name === host && (entryPort === undefined || entryPort === port);
  });
  if (!allowed) {
    const Refused = what === 'url' ? TargetUrlError : TargetOptionError;
    throw new Refused(`http target: the ${what}'s host ${url.host} is not among HTTP_TARGET_HOSTS (${allowedHosts.join(', ') || 'none'})`);
  }
}

const headerName = z.string().refine((name) => !OWN_HEADERS.has(name.toLowerCase()), (name) => ({ message: `header ${name} is set by Tributary` }));
/** A header's value; its issue's path ends with the header's name. */
const headerValue = z
  .string({ errorMap: (issue) => ({ message: `header ${String(issue.path.at(-1))} must be a string of at most ${MAX_HEADER_LENGTH} characters` }) })
  .max(MAX_HEADER_LENGTH);

const HTTP_OPTIONS = targetOptions({
  // The message never shows the secret, only whether it is there.
  secret: z.string(failingWith(`option secret (a non-empty string of at most ${MAX_SECRET_LENGTH} characters) is required`)).min(1).max(MAX_SECRET_LENGTH),
  timeoutMs: integerOption('timeoutMs', OPTION_BOUNDS.timeoutMs).default(10_000),
  headers: z
    .record(headerName, headerValue, failingWith('option headers must be an object of strings'))
    .refine((headers) => Object.keys(headers).length <= MAX_HEADERS, `option headers may hold at most ${MAX_HEADERS} headers`)
    .default({}),
  retries: integerOption('retries', OPTION_BOUNDS.retries).default(2),
  readUrl: z.string(failingWith('option readUrl must be a URL')).optional(),
});

export function httpTargetOptions(options: Record<string, unknown> | undefined): HttpTargetOptions {
  const { readUrl, ...rest } = parseTargetOptions('http', HTTP_OPTIONS, options);
  return { ...rest, readUrl: readUrl === undefined ? null : checkHttpUrl(readUrl, 'readUrl').toString() };
}

/** Builds webhook targets that may call only `allowedHosts` (null: any host). */
export function httpTargetFactory(allowedHosts: readonly string[] | null): TargetFactory {
  return { kind: 'http', detectsConflicts: false, versionsPerSource: false, create: (connection) => new HttpTarget(connection, allowedHosts) };
}

import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { ColumnSpec, Row, RowChange, TargetTableSpec } from '@tributary/model';
import { guardPlan, planBatch, StoredVersion } from '../apply-plan';
import { fromWireRow, SIGNATURE_HEADER, toWireRow, verifySignature, WireBatch } from '../http/http-wire';

/**
 * A well-behaved webhook receiver for tests (not part of the public API): a
 * real HTTP server on 127.0.0.1 that checks every signature (401 if wrong),
 * applies each request all-or-nothing with the same per-row seq guard and
 * tombstones as the SQL targets (apply-plan.ts), refuses rows that break the
 * table's NOT NULL, length or JSON rules with a 422 (and, for a one-change
 * request, records the refused row's version, as the SQL targets do), and
 * serves its rows at `/rows?table=<name>` for HttpTarget.readRows.
 */
export class HttpTestReceiver {
  private server: Server | undefined;
  private readonly rows = new Map<string, Map<string, Row>>();
  private readonly versions = new Map<string, Map<string, StoredVersion>>();
  /** Answers to give before handling POSTs normally (e.g. [503, 503] to test retries). */
  readonly scripted: number[] = [];
  /** Every POST received: its idempotency key and number of changes. */
  readonly received: { idempotencyKey: string; changes: number }[] = [];

  constructor(private readonly secret: string) {}

  async start(): Promise<{ url: string; readUrl: string }> {
    const server = createServer((request, response) => {
      void this.handle(request, response).catch((error: unknown) => send(response, 500, { error: String(error) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    return { url: `http://127.0.0.1:${port}/hook`, readUrl: `http://127.0.0.1:${port}/rows` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const signature = request.headers[SIGNATURE_HEADER.toLowerCase()];
    const url = new URL(request.url ?? '/', 'http://receiver');
    if (request.method === 'HEAD') return send(response, 200, null);
    if (request.method === 'GET' && url.pathname === '/rows') {
      if (!verifySignature(this.secret, url.search.slice(1), typeof signature === 'string' ? signature : undefined)) return send(response, 401, { error: 'bad signature' });
      const rows = [...(this.rows.get(url.searchParams.get('table') ?? '')?.values() ?? [])];
      return send(response, 200, { rows: rows.map(toWireRow) });
    }
    if (request.method !== 'POST') return send(response, 405, { error: 'method not allowed' });
    if (!verifySignature(this.secret, body, typeof signature === 'string' ? signature : undefined)) return send(response, 401, { error: 'bad signature' });
    const scripted = this.scripted.shift();
    if (scripted !== undefined) return send(response, scripted, { error: 'scripted answer' });
    const batch = JSON.parse(body) as WireBatch;
    this.received.push({ idempotencyKey: String(request.headers['idempotency-key']), changes: batch.changes.length });
    const result = this.apply(batch);
    return send(response, result.status, result.body);
  }

  private apply(batch: WireBatch): { status: number; body: object } {
    const table: TargetTableSpec = { name: batch.table.name, key: batch.table.key, columns: batch.table.columns.map(asColumn) };
    const changes: RowChange[] = batch.changes.map((c) => ({
      seq: c.seq,
      op: c.op,
      key: fromWireRow(table.columns, c.key),
      before: c.before && fromWireRow(table.columns, c.before),
      after: c.after && fromWireRow(table.columns, c.after),
    }));
    const versions = mapOf(this.versions, table.name);
    const rows = mapOf(this.rows, table.name);
    const plan = planBatch(table, changes);
    const guarded = guardPlan(plan.writes, versions, { reapply: batch.reapply });
    const problems = guarded.writes.flatMap((w) => (w.row ? problemsOf(table, w.row) : []));
    if (problems.length > 0) {
      // Like a SQL target's refused row: its version is kept so a replay does not refuse it again.
      if (changes.length === 1) for (const w of guarded.writes) versions.set(w.keyHash, { seq: w.seq, deleted: w.kind === 'delete' });
      return { status: 422, body: { error: problems.join('; ') } };
    }
    for (const write of guarded.writes) {
      versions.set(write.keyHash, { seq: write.seq, deleted: write.kind === 'delete' });
      if (write.kind === 'delete') rows.delete(write.keyHash);
      else rows.set(write.keyHash, { ...rows.get(write.keyHash), ...write.row });
    }
    const written = new Set(guarded.writes.map((w) => w.change));
    return {
      status: 200,
      body: { applied: guarded.writes.length, skipped: guarded.skipped.length, superseded: changes.filter((c) => !written.has(c)).map((c) => c.seq) },
    };
  }
}

/** What a strict receiver refuses: NULL in a NOT NULL column, text longer than its length, JSON that does not parse. */
function problemsOf(table: TargetTableSpec, row: Row): string[] {
  const problems: string[] = [];
  for (const column of table.columns) {
    const value = row[column.name] ?? null;
    if (value === null) {
      if (!column.nullable) problems.push(`column ${column.name} must not be null`);
      continue;
    }
    if (column.type === 'string' && column.length !== null && [...String(value)].length > column.length) problems.push(`column ${column.name} is longer than ${column.length}`);
    if (column.type === 'json') {
      try {
        JSON.parse(String(value));
      } catch {
        problems.push(`column ${column.name} is not JSON`);
      }
    }
  }
  return problems;
}

function asColumn(wire: WireBatch['table']['columns'][number]): ColumnSpec {
  return { name: wire.name, type: wire.type, dataType: '', columnType: '', nullable: wire.nullable, unsigned: false, length: wire.length, precision: null, scale: null, fsp: null, members: null };
}

function mapOf<T>(maps: Map<string, Map<string, T>>, name: string): Map<string, T> {
  let map = maps.get(name);
  if (!map) maps.set(name, (map = new Map()));
  return map;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: object | null): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(body === null ? undefined : JSON.stringify(body));
}

/** What the page reads from the admin's REST API (the same session cookie the login set). */

export type RouteState = 'running' | 'lagging' | 'paused' | 'failing' | 'stalled';

export interface Snapshot {
  id: number;
  status: string;
  reason: string;
  rowsCopied: number;
  rowsEstimated: number | null;
  fraction: number | null;
  etaSeconds: number | null;
  error: string | null;
}

export interface RouteStatus {
  route: string;
  source: string;
  table: string;
  target: string;
  targetTable: string;
  state: RouteState;
  stateReason: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  lastAppliedAt: string | null;
  watermark: number;
  appliedTotal: number;
  lag: { changes: number | null; seconds: number | null; capped: boolean; error: string | null };
  throughput: { changesPerSecond: number; windowSeconds: number };
  deadLetters: { open: number; retrying: number };
  conflicts: { open: number };
  snapshot: Snapshot | null;
  tableRebuiltAt: string | null;
  partitions: Array<{ index: number; feed: string; watermark: number; lastError: string | null }> | null;
}

export interface HistoryPoint {
  at: string;
  state: RouteState;
  lagChanges: number | null;
  lagSeconds: number | null;
  changesPerSecond: number;
}

export interface RouteHistory {
  route: string;
  points: HistoryPoint[];
}

export interface DeadLetter {
  id: number;
  seq: number;
  table: string;
  op: string;
  key: Record<string, unknown>;
  status: string;
  reason: string;
  attempts: number;
  createdAt: string;
}

export interface VerifyRun {
  id: number;
  kind: 'verify' | 'repair';
  status: 'running' | 'matched' | 'differs' | 'repaired' | 'failed';
  sourceRows: number;
  targetRows: number;
  missing: number;
  extra: number;
  different: number;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

export interface ParkedConflict {
  id: number;
  seq: number;
  table: string;
  op: string;
  kind: string;
  key: unknown;
  reason: string;
  incoming: { before: Record<string, unknown> | null; after: Record<string, unknown> | null };
  target: Record<string, unknown> | null;
}

export interface CapturedTable {
  table: string;
  installed: boolean | null;
  drifted: boolean | null;
  error: string | null;
  refresh: string | null;
}

/** The API said the session is gone (expired, signed out): the page sends the browser to sign in again. */
export class SignedOut extends Error {}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 401 || response.status === 403) throw new SignedOut(`${response.status}`);
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : null;
  if (!response.ok) {
    const message = (parsed as { message?: unknown } | null)?.message;
    throw new Error(`${method} ${path}: ${response.status} ${Array.isArray(message) ? message.join('; ') : String(message ?? response.statusText)}`);
  }
  return parsed as T;
}

const route = (id: string) => `/api/routes/${encodeURIComponent(id)}`;

export const api = {
  status: () => call<RouteStatus[]>('GET', '/api/status'),
  history: (minutes: number) => call<RouteHistory[]>('GET', `/api/status/history?minutes=${minutes}`),
  deadLetters: (routeId: string) => call<{ items: DeadLetter[] }>('GET', `${route(routeId)}/dead-letters?status=open&limit=50`),
  retryLetter: (routeId: string, id: number) => call<unknown>('POST', `${route(routeId)}/dead-letters/${id}/retry`, { actor: 'status page' }),
  discardLetter: (routeId: string, id: number, reason: string) =>
    call<unknown>('POST', `${route(routeId)}/dead-letters/${id}/discard`, { actor: 'status page', reason }),
  retryAll: (routeId: string) => call<unknown>('POST', `${route(routeId)}/dead-letters/retry`, { actor: 'status page' }),
  conflicts: (routeId: string) => call<ParkedConflict[]>('GET', `${route(routeId)}/conflicts?status=open&limit=50`),
  resolveConflict: (id: number, action: 'apply-source' | 'keep-target') => call<unknown>('POST', `/api/conflicts/${id}/resolve`, { action, actor: 'status page' }),
  pause: (routeId: string) => call<unknown>('POST', `${route(routeId)}/pause`, {}),
  resume: (routeId: string) => call<unknown>('POST', `${route(routeId)}/resume`, {}),
  verifyRuns: (routeId: string) => call<VerifyRun[]>('GET', `${route(routeId)}/verify-runs?limit=1`),
  sources: () => call<Array<{ id: string }>>('GET', '/api/sources'),
  tables: (sourceId: string) => call<CapturedTable[]>('GET', `/api/sources/${encodeURIComponent(sourceId)}/tables`),
};

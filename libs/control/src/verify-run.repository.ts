import { Knex } from 'knex';
import { parseUtc } from './mysql-dates';

export type VerifyRunKind = 'verify' | 'repair';
export type VerifyRunStatus = 'running' | 'matched' | 'differs' | 'repaired' | 'failed';

/** How a finished run ended: what it counted, and the first differences (JSON-safe). */
export interface VerifyRunOutcome {
  status: Exclude<VerifyRunStatus, 'running' | 'failed'>;
  sourceRows: number;
  targetRows: number;
  missing: number;
  extra: number;
  different: number;
  /** Keys re-sent by a repair (0 for a verify). */
  repaired: number;
  sample: unknown;
}

/** One verify or repair of a route, as stored (tributary_verify_runs): kept as a history of what was found. */
export interface VerifyRunRecord {
  id: number;
  routeId: string;
  kind: VerifyRunKind;
  status: VerifyRunStatus;
  requestedBy: string | null;
  sourceRows: number;
  targetRows: number;
  missing: number;
  extra: number;
  different: number;
  repaired: number;
  /** Parsed JSON: the first differences, with both rows (see @tributary/verify). */
  sample: unknown;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

/** Verify and repair runs: started by the admin or the CLI, finished by whoever runs them. */
export class VerifyRunRepository {
  constructor(private readonly knex: Knex) {}

  async create(routeId: string, kind: VerifyRunKind, requestedBy: string | null): Promise<VerifyRunRecord> {
    const [id] = await this.knex('tributary_verify_runs').insert({ route_id: routeId, kind, status: 'running', requested_by: requestedBy });
    return (await this.get(Number(id)))!;
  }

  /** Records the outcome; only a running run can finish (a run finishes once). */
  async finish(id: number, outcome: VerifyRunOutcome): Promise<boolean> {
    return this.update(id, {
      status: outcome.status,
      source_rows: outcome.sourceRows,
      target_rows: outcome.targetRows,
      missing: outcome.missing,
      extra: outcome.extra,
      different: outcome.different,
      repaired: outcome.repaired,
      sample: JSON.stringify(outcome.sample ?? null),
      error: null,
    });
  }

  /** The run stopped without an answer; `message` must already be free of credentials. */
  async fail(id: number, message: string): Promise<boolean> {
    return this.update(id, { status: 'failed', error: message });
  }

  /** Marks the route's runs still recorded as running failed (their process is gone); returns how many. */
  async failRunning(routeId: string, message: string): Promise<number> {
    return this.knex('tributary_verify_runs')
      .where({ route_id: routeId, status: 'running' })
      .update({ status: 'failed', error: message, finished_at: this.knex.fn.now(6) });
  }

  async get(id: number): Promise<VerifyRunRecord | null> {
    const row = await this.knex('tributary_verify_runs').where({ id }).first();
    return row ? toRecord(row) : null;
  }

  /** Newest first. */
  async listByRoute(routeId: string, limit = 50): Promise<VerifyRunRecord[]> {
    const rows = await this.knex('tributary_verify_runs').where({ route_id: routeId }).orderBy('id', 'desc').limit(limit);
    return rows.map(toRecord);
  }

  private async update(id: number, values: Record<string, unknown>): Promise<boolean> {
    const updated = await this.knex('tributary_verify_runs')
      .where({ id, status: 'running' })
      .update({ ...values, finished_at: this.knex.fn.now(6) });
    return updated === 1;
  }
}

interface VerifyRunRow {
  id: number | string;
  route_id: string;
  kind: VerifyRunKind;
  status: VerifyRunStatus;
  requested_by: string | null;
  source_rows: number | string;
  target_rows: number | string;
  missing: number | string;
  extra: number | string;
  different: number | string;
  repaired: number | string;
  sample: string | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

function toRecord(row: VerifyRunRow): VerifyRunRecord {
  return {
    id: Number(row.id),
    routeId: row.route_id,
    kind: row.kind,
    status: row.status,
    requestedBy: row.requested_by,
    sourceRows: Number(row.source_rows),
    targetRows: Number(row.target_rows),
    missing: Number(row.missing),
    extra: Number(row.extra),
    different: Number(row.different),
    repaired: Number(row.repaired),
    sample: row.sample === null ? null : (JSON.parse(row.sample) as unknown),
    error: row.error,
    startedAt: parseUtc(row.started_at)!,
    finishedAt: parseUtc(row.finished_at),
  };
}

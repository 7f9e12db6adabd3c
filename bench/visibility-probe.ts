import { Client } from 'pg';
import { BenchDatabase, Cleanup, note, sleep } from './support';

/**
 * Commit → visible latency, measured at the target rather than inferred
 * from Tributary's metrics. A trigger on each target table sends
 * `<table>:<id>` with pg_notify, which PostgreSQL delivers only when the
 * applying transaction commits, i.e. when readers can see the row; a LISTEN
 * client in the bench notes the arrival. The writer notes when its COMMIT
 * returned at the source. Both times come from this process's clock.
 *
 * The latency is a little short of the truth (COMMIT returns after the row
 * is committed) and a little long (a busy bench hears the notification
 * late); both errors are far below the milliseconds being measured.
 */

const CHANNEL = 'bench_visible';
const FUNCTION = 'bench_visible';
/** Statements per round trip when instrumenting many tables. */
const TRIGGERS_PER_STATEMENT = 100;

/**
 * Adds the notifying trigger to target tables (which must have an `id`
 * column). AFTER UPDATE as well: an apply may arrive as an upsert that
 * updates a row a retried batch already wrote.
 */
export async function installVisibilityTriggers(target: BenchDatabase, tables: readonly string[]): Promise<void> {
  // No `?` or `::` in the text: knex would read them as bindings.
  await target.knex.raw(
    `CREATE OR REPLACE FUNCTION ${FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN PERFORM pg_notify('${CHANNEL}', TG_TABLE_NAME || ':' || CAST(NEW.id AS text)); RETURN NULL; END $$`,
  );
  for (let i = 0; i < tables.length; i += TRIGGERS_PER_STATEMENT) {
    const statements = tables
      .slice(i, i + TRIGGERS_PER_STATEMENT)
      .map((table) => `CREATE TRIGGER ${FUNCTION} AFTER INSERT OR UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION ${FUNCTION}()`);
    await target.knex.raw(statements.join(';\n'));
  }
}

export interface LatencyStats {
  /** Changes committed in the window, and how many of them were seen at the target. */
  committed: number;
  seen: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export class VisibilityProbe {
  private readonly committedAt = new Map<string, number>();
  private readonly seenAt = new Map<string, number>();

  private constructor(private readonly client: Client) {}

  /** Starts listening on the target database; the listener is closed by `cleanup` (or `close`). */
  static async listen(target: BenchDatabase, cleanup: Cleanup): Promise<VisibilityProbe> {
    const client = new Client({ connectionString: target.url });
    // The database is dropped with FORCE at cleanup, which cuts this connection: not worth a crash.
    client.on('error', (error) => note(`visibility listener on ${target.name}: ${error.message}`));
    await client.connect();
    const probe = new VisibilityProbe(client);
    client.on('notification', (message) => {
      // The first arrival is when the row became visible; a later upsert of it says nothing new.
      if (message.payload && !probe.seenAt.has(message.payload)) probe.seenAt.set(message.payload, performance.now());
    });
    await client.query(`LISTEN ${CHANNEL}`);
    cleanup.add(`listener on ${target.name}`, () => probe.close());
    return probe;
  }

  /** Call when the source's COMMIT of the row returned. */
  committed(table: string, id: number, at = performance.now()): void {
    this.committedAt.set(`${table}:${id}`, at);
  }

  /** Latencies in ms of the changes committed in [from, to) (bench clock; default: all of them). */
  stats(from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): LatencyStats {
    const latencies: number[] = [];
    let committed = 0;
    for (const [key, at] of this.committedAt) {
      if (at < from || at >= to) continue;
      committed++;
      const seen = this.seenAt.get(key);
      // A notification can be handled before the writer's COMMIT callback runs: that is "at once".
      if (seen !== undefined) latencies.push(Math.max(0, seen - at));
    }
    return { committed, seen: latencies.length, ...percentiles(latencies) };
  }

  /**
   * Waits until every committed change has been seen, or `timeoutMs` passed;
   * returns how many are still unseen. `check` runs on every poll and may
   * throw to stop waiting (e.g. an app died).
   */
  async waitForAll(timeoutMs: number, check: () => void = () => undefined): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      check();
      const unseen = [...this.committedAt.keys()].filter((key) => !this.seenAt.has(key)).length;
      if (unseen === 0 || performance.now() > deadline) return unseen;
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** Nearest-rank percentiles and the maximum of `values` (NaN when empty). */
export function percentiles(values: readonly number[]): Pick<LatencyStats, 'p50' | 'p95' | 'p99' | 'max'> {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]);
  return { p50: rank(0.5), p95: rank(0.95), p99: rank(0.99), max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1] };
}

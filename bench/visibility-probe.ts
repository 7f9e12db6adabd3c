import { Connection } from 'mysql2/promise';
import { Client } from 'pg';
import { insertItem } from './items';
import { BenchDatabase, Cleanup, note, percentiles, Percentiles, sleep } from './support';

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

/** Channels are per database, so each target database has its own. */
const CHANNEL = 'bench_visible';
const FUNCTION = 'bench_visible';
/** Statements per round trip when instrumenting many tables. */
const TRIGGERS_PER_STATEMENT = 100;

/**
 * Adds the notifying trigger to target tables, which must exist and have an
 * integer `id` (createTargetTables makes Tributary's before the worker
 * would). AFTER UPDATE as well: an apply may arrive as an upsert that
 * updates a row a retried batch already wrote. The database is the bench's
 * own and dropped with everything in it: nothing to undo.
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

/** Latencies (ms) of the changes committed in a window: how many there were, how many were seen, and their percentiles. */
export interface LatencyStats extends Percentiles {
  committed: number;
  seen: number;
}

export interface WaitOptions {
  /** Give up after this long in all. */
  timeoutMs: number;
  /** Give up once nothing new arrived for this long (a stalled pipeline will not deliver the rest). */
  stallMs?: number;
  /** Runs on every poll and may throw to stop waiting (e.g. an app died). */
  check?: () => void;
}

export class VisibilityProbe {
  private readonly committedAt = new Map<string, number>();
  private readonly seenAt = new Map<string, number>();
  /** Committed and not seen yet: kept apart so a wait costs nothing per change, whatever the run's size. */
  private readonly pending = new Set<string>();

  private constructor() {}

  /** Starts listening on the target database; the listener is closed by `cleanup`. */
  static async listen(target: BenchDatabase, cleanup: Cleanup): Promise<VisibilityProbe> {
    const client = new Client({ connectionString: target.url });
    // The database is dropped WITH (FORCE) at cleanup, which cuts this connection: not worth a crash.
    client.on('error', (error) => note(`visibility listener on ${target.name}: ${error.message}`));
    await client.connect();
    const probe = new VisibilityProbe();
    client.on('notification', (message) => {
      // The first arrival is when the row became visible; a later upsert of it says nothing new.
      if (!message.payload || probe.seenAt.has(message.payload)) return;
      probe.seenAt.set(message.payload, performance.now());
      probe.pending.delete(message.payload);
    });
    await client.query(`LISTEN ${CHANNEL}`);
    cleanup.add(`listener on ${target.name}`, () => client.end().catch(() => undefined));
    return probe;
  }

  /** Call when the source's COMMIT of the row returned. */
  committed(table: string, id: number, at = performance.now()): void {
    const key = `${table}:${id}`;
    this.committedAt.set(key, at);
    // The notification can be handled before the writer's COMMIT callback runs.
    if (!this.seenAt.has(key)) this.pending.add(key);
  }

  /** Inserts item `id` into the source's `table` as an application would (insertItem) and notes when its COMMIT returned. */
  async insertItem(connection: Connection, table: string, id: number): Promise<void> {
    await insertItem(connection, table, id);
    this.committed(table, id);
  }

  /** A PacedWriter write: write n inserts item `firstId + n` into `table`. */
  insertItems(table: string, firstId: number): (connection: Connection, n: number) => Promise<void> {
    return (connection, n) => this.insertItem(connection, table, firstId + n);
  }

  /** Latencies of the changes committed in [from, to) (bench clock; default: all of them). */
  stats(from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): LatencyStats {
    const latencies: number[] = [];
    let committed = 0;
    for (const [key, at] of this.committedAt) {
      if (at < from || at >= to) continue;
      committed++;
      const seen = this.seenAt.get(key);
      // Seen before the COMMIT callback ran: that is "at once".
      if (seen !== undefined) latencies.push(Math.max(0, seen - at));
    }
    return { committed, seen: latencies.length, ...percentiles(latencies) };
  }

  /** Waits until every committed change has been seen, or it gives up (WaitOptions); returns how many are still unseen. */
  async waitForAll(options: WaitOptions): Promise<number> {
    const deadline = performance.now() + options.timeoutMs;
    let unseen = this.pending.size;
    let lastArrival = performance.now();
    for (;;) {
      options.check?.();
      if (this.pending.size < unseen) lastArrival = performance.now();
      unseen = this.pending.size;
      const now = performance.now();
      if (unseen === 0 || now > deadline || (options.stallMs !== undefined && now - lastArrival > options.stallMs)) return unseen;
      await sleep(50);
    }
  }
}

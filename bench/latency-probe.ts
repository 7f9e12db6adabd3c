import { Client } from 'pg';
import { BenchDatabase, Cleanup, note, sleep } from './support';

/** The NOTIFY channel; channels are per database, so each target database has its own. */
const CHANNEL = 'tributary_bench_visible';

/**
 * When rows become visible at a PostgreSQL target, seen from the target
 * itself: an AFTER INSERT OR UPDATE trigger on the table calls
 * `pg_notify(channel, id)`, and PostgreSQL delivers a notification only when
 * the transaction that wrote the row commits. A dedicated client LISTENs and
 * stamps each id on arrival (performance.now(), the clock the writers use).
 * Only the first arrival of an id counts: a replayed row is not visible anew.
 */
export class VisibilityProbe {
  private readonly arrivals = new Map<number, number>();

  private constructor() {}

  /** Installs the trigger on `table` (which must exist, with an integer `id`) and starts listening. */
  static async install(target: BenchDatabase, table: string, cleanup: Cleanup): Promise<VisibilityProbe> {
    const probe = new VisibilityProbe();
    const listener = new Client({ connectionString: target.url });
    // The database is dropped WITH (FORCE) at cleanup, which ends this session from the server side.
    listener.on('error', (error) => note(`visibility listener on ${target.name}: ${error.message}`));
    await listener.connect();
    cleanup.add(`listener on ${target.name}`, () => listener.end());
    listener.on('notification', (message) => {
      const at = performance.now();
      const id = Number(message.payload);
      if (!probe.arrivals.has(id)) probe.arrivals.set(id, at);
    });
    await listener.query(`LISTEN ${CHANNEL}`);
    // The database is the bench's own and dropped with everything in it: no cleanup of its own.
    await target.knex.raw(
      `CREATE FUNCTION bench_notify_visible() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_notify('${CHANNEL}', NEW.id::text); RETURN NULL; END $$`,
    );
    await target.knex.raw(`CREATE TRIGGER bench_notify_visible AFTER INSERT OR UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION bench_notify_visible()`);
    return probe;
  }

  /** When `id` first became visible (performance.now() ms), or undefined if it has not. */
  arrivedAt(id: number): number | undefined {
    return this.arrivals.get(id);
  }

  /**
   * Waits until every id in [first, first + count) has arrived; gives up when
   * none arrived for `stallMs` or at `deadline` (performance.now() ms).
   * Returns how many are still missing.
   */
  async waitForAll(first: number, count: number, stallMs: number, deadline: number): Promise<number> {
    let missing = count;
    let lastProgress = performance.now();
    for (;;) {
      let left = 0;
      for (let id = first; id < first + count; id++) if (!this.arrivals.has(id)) left++;
      if (left < missing) lastProgress = performance.now();
      missing = left;
      if (missing === 0 || performance.now() - lastProgress > stallMs || performance.now() > deadline) return missing;
      await sleep(50);
    }
  }
}

/**
 * Waits until `count` rows with `id < 0` (the warm-up rows) are in `table`,
 * which may not exist yet (Tributary's worker creates it on the first change).
 */
export async function waitForRows(target: BenchDatabase, table: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const result = await target.knex.raw(`SELECT COUNT(*) AS n FROM "${table}" WHERE id < 0`);
      if (Number((result as { rows: Array<{ n: string }> }).rows[0].n) >= count) return;
    } catch (error) {
      if ((error as { code?: string }).code !== '42P01') throw error; // undefined_table: not created yet
    }
    if (performance.now() > deadline) throw new Error(`${count} warm-up rows did not reach ${target.name}.${table} in ${timeoutMs} ms`);
    await sleep(100);
  }
}

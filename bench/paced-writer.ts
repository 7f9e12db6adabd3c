import { Connection, createConnection } from 'mysql2/promise';
import { Cleanup, sleep } from './support';

/** One paced run: insert n (0-based) has id `firstId + n`. */
export interface PacedRun {
  firstId: number;
  /** Inserts that committed (all of them, or the run throws). */
  count: number;
  /** performance.now() when insert n's autocommit INSERT returned: committed at the source. */
  committedAt: Float64Array;
  /** How long insert n took at the source (send → commit returned), ms. */
  writeMs: Float64Array;
  /** Inserts per second achieved: count over the time from the first scheduled send to the last commit. */
  achievedRate: number;
}

/**
 * Single-row autocommit inserts into a captured table of the bench's items
 * shape at a steady aggregate rate, over several connections as an
 * application would write. Insert n is due at start + n / rate and goes to
 * connection n mod C; a connection that falls behind sends at once (never
 * skips), so a slow source shows up as a lower achieved rate, not as gaps.
 */
export class PacedWriter {
  private constructor(private readonly connections: Connection[]) {}

  /** Opens `count` connections to `url` (a database URL); closed by `cleanup`. */
  static async open(url: string, count: number, cleanup: Cleanup): Promise<PacedWriter> {
    const connections: Connection[] = [];
    cleanup.add('paced writer connections', () => Promise.all(connections.map((connection) => connection.end())));
    for (let i = 0; i < count; i++) connections.push(await createConnection(url));
    return new PacedWriter(connections);
  }

  /** Connections opened (the most one run can use). */
  get size(): number {
    return this.connections.length;
  }

  /** Writes `rate * seconds` rows (at least one) into `table` with ids from `firstId` on, over the first `lanes` connections. */
  async run(table: string, options: { rate: number; seconds: number; firstId: number; lanes: number }): Promise<PacedRun> {
    if (options.lanes < 1 || options.lanes > this.connections.length) throw new Error(`lanes must be 1..${this.connections.length}`);
    const lanes = this.connections.slice(0, options.lanes);
    const total = Math.max(1, Math.round(options.rate * options.seconds));
    const committedAt = new Float64Array(total);
    const writeMs = new Float64Array(total);
    const interval = 1000 / options.rate;
    const sql = `INSERT INTO \`${table}\` (id, grp, name, amount, noted, payload) VALUES (?, ?, ?, ?, NOW(6), ?)`;
    const stride = lanes.length;
    const start = performance.now();
    await Promise.all(
      lanes.map(async (connection, lane) => {
        for (let n = lane; n < total; n += stride) {
          // setTimeout cannot wait less than ~1 ms: nearer than that, send now (the next one waits longer).
          const wait = start + n * interval - performance.now();
          if (wait >= 1) await sleep(wait);
          const id = options.firstId + n;
          const sent = performance.now();
          await connection.query(sql, [id, id % 7, `item ${id}`, ((id % 10_000) * 0.37).toFixed(2), JSON.stringify({ n: id })]);
          committedAt[n] = performance.now();
          writeMs[n] = committedAt[n] - sent;
        }
      }),
    );
    const last = committedAt.reduce((latest, at) => Math.max(latest, at), start);
    return { firstId: options.firstId, count: total, committedAt, writeMs, achievedRate: total / ((last - start) / 1000) };
  }
}

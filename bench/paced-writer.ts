import { Connection, createConnection } from 'mysql2/promise';
import { Cleanup, sleep } from './support';

/** One paced run. */
export interface PacedRun {
  /** Writes done: all of them, or the run throws. */
  count: number;
  /** From the first write's due time to the last write's return. */
  seconds: number;
  /** count / seconds: below the rate asked for when the source could not keep up. */
  achievedRate: number;
  /** How long write n took at the source (sent → COMMIT returned, trigger included), ms. */
  writeMs: Float64Array;
  /** Worst delay between a write's due time and its start, ms: a late writer means the source, not the pipeline, limited the run. */
  maxBehindMs: number;
}

export interface PacedOptions {
  /** Writes per second over all lanes. */
  rate: number;
  seconds: number;
  /** Connections that share the rate: the first `lanes` opened (default all). */
  lanes?: number;
  /** Write n (0-based) on `connection`: autocommitted, or committed inside; resolves once the COMMIT returned. */
  write: (connection: Connection, n: number) => Promise<void>;
}

/**
 * A steady write rate, as an application produces it, over several
 * connections: `rate * seconds` writes (at least one); write n is due at
 * start + n / rate and goes to connection n mod lanes, which waits for its
 * due time. A connection that falls behind writes at once until it is back
 * on time (never skips), so a slow source shows as a lower achieved rate and
 * as `maxBehindMs`, not as gaps.
 */
export class PacedWriter {
  private constructor(private readonly connections: Connection[]) {}

  /** Opens `count` plain connections to `url` (the application's session settings, not Tributary's); closed by `cleanup`. */
  static async open(url: string, count: number, cleanup: Cleanup): Promise<PacedWriter> {
    const connections: Connection[] = [];
    cleanup.add(`${count} writer connections`, () => Promise.all(connections.map((connection) => connection.end().catch(() => undefined))));
    for (let i = 0; i < count; i++) connections.push(await createConnection(url));
    return new PacedWriter(connections);
  }

  /** Connections opened: the most lanes one run can use. */
  get size(): number {
    return this.connections.length;
  }

  async run(options: PacedOptions): Promise<PacedRun> {
    const lanesWanted = options.lanes ?? this.connections.length;
    if (lanesWanted < 1 || lanesWanted > this.connections.length) throw new Error(`lanes must be 1..${this.connections.length}`);
    const lanes = this.connections.slice(0, lanesWanted);
    const count = Math.max(1, Math.round(options.rate * options.seconds));
    const writeMs = new Float64Array(count);
    const interval = 1000 / options.rate;
    let maxBehindMs = 0;
    const start = performance.now();
    await Promise.all(
      lanes.map(async (connection, lane) => {
        for (let n = lane; n < count; n += lanes.length) {
          const due = start + n * interval;
          // setTimeout cannot wait less than ~1 ms: nearer than that, send now (the next one waits longer).
          const wait = due - performance.now();
          if (wait >= 1) await sleep(wait);
          const sent = performance.now();
          maxBehindMs = Math.max(maxBehindMs, sent - due);
          await options.write(connection, n);
          writeMs[n] = performance.now() - sent;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    return { count, seconds, achievedRate: count / seconds, writeMs, maxBehindMs };
  }
}

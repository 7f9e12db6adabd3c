import { Connection, createConnection } from 'mysql2/promise';
import { Cleanup, sleep } from './support';

/**
 * A steady write rate, as an application would produce it: write number i
 * is due at start + i / rate, and the writers take turns (write i goes to
 * writer i mod n), each waiting for its next due time. A writer that falls
 * behind writes at once until it is back on time, so a slow moment at the
 * source does not lower the rate; how far behind it fell is reported, since
 * a late writer means the source, not the pipeline, limited the run.
 */
export interface PacedRun {
  written: number;
  seconds: number;
  /** Worst delay between a write's due time and its start, in ms. */
  maxBehindMs: number;
}

export interface PacedOptions {
  /** Writes per second over all writers. */
  rate: number;
  seconds: number;
  writers: readonly Connection[];
  /** One write, autocommitted or committed inside; resolves once the COMMIT returned. */
  write: (writer: Connection, i: number) => Promise<void>;
}

export async function writePaced(options: PacedOptions): Promise<PacedRun> {
  const { rate, seconds, writers, write } = options;
  const started = performance.now();
  const end = started + seconds * 1000;
  let written = 0;
  let maxBehindMs = 0;
  await Promise.all(
    writers.map(async (writer, k) => {
      for (let i = k; ; i += writers.length) {
        const due = started + (i * 1000) / rate;
        if (due >= end) return;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        maxBehindMs = Math.max(maxBehindMs, performance.now() - due);
        await write(writer, i);
        written++;
      }
    }),
  );
  return { written, seconds: (performance.now() - started) / 1000, maxBehindMs };
}

/** Plain connections to the source, as the application's (not Tributary's session settings); closed by `cleanup`. */
export async function openWriters(url: string, count: number, cleanup: Cleanup): Promise<Connection[]> {
  const writers = await Promise.all(Array.from({ length: count }, () => createConnection(url)));
  cleanup.add(`${count} writer connections`, () => Promise.all(writers.map((writer) => writer.end().catch(() => undefined))));
  return writers;
}

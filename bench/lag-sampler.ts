import { ProgressRepository } from '@tributary/control';
import { OUTBOX_TABLE, TS_MICROS } from '@tributary/db';
import { every } from './periodic';
import { outboxMaxSeq } from './route-wait';
import { BenchDatabase, Cleanup } from './support';

/**
 * Each route's lag as the outside sees it: committed changes in the outbox
 * past the route's durable watermark (tributary_route_progress), and the
 * age of the oldest of them. Read from the databases, not from the apps'
 * own reports, so a route whose status looks fine still shows its lag.
 */
export interface RouteLag {
  watermark: number;
  /** Outbox MAX(seq) minus the watermark. */
  changes: number;
  /** Seconds since the oldest change past the watermark was captured (0: caught up). */
  oldestSeconds: number;
}

export interface LagSample {
  /** Bench clock (performance.now()). */
  at: number;
  maxSeq: number;
  routes: Map<string, RouteLag>;
}

/** Samples into `samples` every `everyMs` until the returned function is called (or `cleanup` runs). */
export function sampleLag(
  source: BenchDatabase,
  progress: ProgressRepository,
  routeIds: readonly string[],
  everyMs: number,
  samples: LagSample[],
  cleanup: Cleanup,
): () => Promise<void> {
  return every(everyMs, async () => {
    const at = performance.now();
    // Watermarks first: a change committed between the two reads then counts as lag, never the reverse.
    const watermarks = new Map((await progress.listProgress([...routeIds])).map((route) => [route.routeId, route.watermark]));
    const maxSeq = await outboxMaxSeq(source);
    const routes = new Map<string, RouteLag>();
    for (const routeId of routeIds) {
      const watermark = watermarks.get(routeId) ?? 0;
      routes.set(routeId, { watermark, changes: Math.max(0, maxSeq - watermark), oldestSeconds: await oldestUnapplied(source, watermark) });
    }
    samples.push({ at, maxSeq, routes });
  }, cleanup);
}

/** Age of the first change past `watermark`: one primary-key lookup, the same clock the triggers stamp with. */
async function oldestUnapplied(source: BenchDatabase, watermark: number): Promise<number> {
  const [rows] = await source.knex.raw(`SELECT ${TS_MICROS} - ts AS age FROM \`${OUTBOX_TABLE}\` WHERE seq > ? ORDER BY seq LIMIT 1`, [watermark]);
  const first = (rows as Array<{ age: number | string }>)[0];
  return first ? Math.max(0, Number(first.age) / 1e6) : 0;
}

import { ProgressRepository } from '@tributary/control';
import { OUTBOX_TABLE } from '@tributary/db';
import { AppProcess, BenchDatabase, note, sleep } from './support';

/** Throws if an app has exited: what it measured since is not worth waiting for. */
export function assertAlive(apps: readonly AppProcess[], what: string): void {
  const dead = apps.find((app) => app.exited());
  if (dead) throw new Error(`${dead.name} exited during ${what}:\n${dead.output()}`);
}

/** The outbox's highest committed seq right now. */
export async function outboxMaxSeq(source: BenchDatabase): Promise<number> {
  const [rows] = await source.knex.raw(`SELECT COALESCE(MAX(seq), 0) AS m FROM \`${OUTBOX_TABLE}\``);
  return Number((rows as Array<{ m: number | string }>)[0].m);
}

/**
 * Polls the control schema until every route in `routeIds` has durably
 * applied through `seq`; returns when each got there (ms, bench clock).
 * Fails fast if an app dies, and after `timeoutMs`, naming the laggards.
 */
export async function waitForRoutes(
  progress: ProgressRepository,
  routeIds: readonly string[],
  seq: number,
  apps: readonly AppProcess[],
  timeoutMs: number,
  what: string,
): Promise<Map<string, number>> {
  const started = performance.now();
  const reached = new Map<string, number>();
  let reportedAt = started;
  for (;;) {
    assertAlive(apps, what);
    const now = performance.now();
    const behind: string[] = [];
    for (const route of await progress.listProgress([...routeIds])) {
      if (route.watermark >= seq && !reached.has(route.routeId)) reached.set(route.routeId, now);
    }
    for (const routeId of routeIds) if (!reached.has(routeId)) behind.push(routeId);
    if (behind.length === 0) return reached;
    if (now - reportedAt >= 5000) {
      reportedAt = now;
      note(`${what}: ${behind.length} of ${routeIds.length} routes not yet through seq ${seq} (${behind.slice(0, 3).join(', ')}${behind.length > 3 ? ', ...' : ''})`);
    }
    if (now - started > timeoutMs) throw new Error(`${what}: ${behind.length} routes did not reach seq ${seq} in ${timeoutMs} ms (${behind.slice(0, 5).join(', ')})`);
    await sleep(100);
  }
}

/** Waits until the relay leads the source (its state row has a leader): from then on it reads the outbox (and runs the copier). */
export async function waitForRelay(progress: ProgressRepository, sourceId: string, apps: readonly AppProcess[]): Promise<void> {
  const started = performance.now();
  for (;;) {
    assertAlive(apps, 'start-up');
    const relay = await progress.loadRelayState(sourceId);
    if (relay?.leader) return;
    if (performance.now() - started > 60_000) throw new Error('the relay did not take the lead of the source within 60 s');
    await sleep(100);
  }
}

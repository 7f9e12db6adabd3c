import { CatalogRepository, SnapshotRecord, SnapshotRepository } from '@tributary/control';
import { progressLine } from '@tributary/snapshot';

export interface ResyncIo {
  /** A progress line; `final` when it is the last one. A terminal redraws it in place. */
  progress(line: string, final: boolean): void;
  sleep(ms: number): Promise<void>;
}

/** How a re-sync ended, for the exit status. */
export type ResyncOutcome = { kind: 'done'; snapshot: SnapshotRecord } | { kind: 'stopped'; snapshot: SnapshotRecord } | { kind: 'unknown-route' } | { kind: 'busy' };

/**
 * Asks for a re-sync of a route (the relay's copier runs it) and, unless
 * `wait` is false, follows it with a progress bar until it is done, failed or
 * cancelled. The CLI only asks and watches: killing it stops nothing.
 */
export async function resync(
  control: { catalog: CatalogRepository; snapshots: SnapshotRepository },
  routeId: string,
  requestedBy: string,
  io: ResyncIo,
  options: { wait: boolean; pollMs?: number },
): Promise<ResyncOutcome> {
  if (!(await control.catalog.getRoute(routeId))) return { kind: 'unknown-route' };
  if (!(await control.snapshots.request(routeId, 'resync', requestedBy))) return { kind: 'busy' };
  for (;;) {
    const snapshot = (await control.snapshots.get(routeId))!;
    const final = !options.wait || ['done', 'failed', 'cancelled'].includes(snapshot.status);
    io.progress(describe(snapshot), final);
    if (final) return { kind: snapshot.status === 'failed' || snapshot.status === 'cancelled' ? 'stopped' : 'done', snapshot };
    await io.sleep(options.pollMs ?? 1000);
  }
}

export function describe(snapshot: SnapshotRecord): string {
  switch (snapshot.status) {
    case 'pending':
      return `${snapshot.routeId}: waiting for the copier (it runs in the relay)`;
    case 'copying':
      return `${snapshot.routeId}: copying ${progressLine(snapshot)}${snapshot.error ? ` (retrying: ${snapshot.error})` : ''}`;
    case 'catching_up':
      return `${snapshot.routeId}: ${snapshot.rowsCopied.toLocaleString('en-US')} rows copied; waiting for the route to apply them`;
    case 'done':
      return `${snapshot.routeId}: re-sync done, ${snapshot.rowsCopied.toLocaleString('en-US')} rows copied in ${snapshot.chunks} chunks`;
    default:
      return `${snapshot.routeId}: re-sync ${snapshot.status}${snapshot.error ? `: ${snapshot.error}` : ''}`;
  }
}

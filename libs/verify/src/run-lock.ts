import { createHash } from 'node:crypto';
import { LeaderLease } from '@tributary/runtime';

/** A held run lock; release it when the run ends (a process that dies releases it with its connection). */
export interface HeldRunLock {
  release(): Promise<void>;
}

/** Takes the lock of one route's verify/repair runs, or answers null when another process holds it. */
export type RunLocks = (routeId: string) => Promise<HeldRunLock | null>;

/**
 * One verify or repair per route across every process (admins and CLIs): a
 * MySQL named lock on the control database's server, on a connection of its
 * own, named after the control database and the route. Holding it also
 * proves that a run recorded as running for the route is an orphan of a
 * process that died.
 */
export function routeRunLocks(controlDatabaseUrl: string): RunLocks {
  const database = new URL(controlDatabaseUrl).pathname.replace(/^\//, '');
  return async (routeId) => {
    const lease = new LeaderLease(controlDatabaseUrl, `tributary_verify_${createHash('sha1').update(`${database}/${routeId}`).digest('hex')}`);
    if (!(await lease.tryAcquire())) return null;
    return { release: () => lease.release() };
  };
}

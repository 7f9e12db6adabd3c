import { RedisClient } from './redis';

/**
 * Signals between Tributary's processes over Redis pub/sub. A signal only
 * hurries its listener: pub/sub loses messages (a subscriber reconnecting,
 * Redis restarting), so every listener still finds the same thing out by
 * itself a moment later (the relay looks at its queues now and then, every
 * app reads the configuration every CONFIG_REFRESH_MS).
 */

/** Workers say that a job of a source is done. */
export function jobsDoneChannel(prefix: string): string {
  return `${prefix}:jobs-done`;
}

/** The admin says that the configuration (sources, tables, targets, routes, copies) changed. */
export function configChangedChannel(prefix: string): string {
  return `${prefix}:config-changed`;
}

/** Workers say that a route's checkpoint moved: every change up to the watermark is committed at its target. */
export function appliedChannel(prefix: string): string {
  return `${prefix}:applied`;
}

/**
 * Tells whoever waits for routes (POST /api/wait: read-your-writes) that
 * they have applied every change up to `watermark`, once that is durable at
 * their targets and in the control schema. One message for many routes (the
 * relay moves idle routes together): the watermark first, then the routes.
 */
export async function announceApplied(redis: RedisClient, prefix: string, routeIds: readonly string[], watermark: number): Promise<void> {
  if (routeIds.length === 0) return;
  await redis.publish(appliedChannel(prefix), JSON.stringify([String(watermark), ...routeIds]));
}

/** A relay process gave up leading a source (it stops): a standby may take the lead now. */
export function leaseReleasedChannel(prefix: string): string {
  return `${prefix}:lease-released`;
}

/**
 * Tells standby relays that the relay leading `sourceId` (its relay and its
 * copier) let go on purpose, e.g. at a rolling restart: they try to take
 * the lead at once instead of at their next RELAY_LEADER_RETRY_MS.
 */
export async function announceLeaseReleased(redis: RedisClient, prefix: string, sourceId: string): Promise<void> {
  await redis.publish(leaseReleasedChannel(prefix), JSON.stringify([sourceId]));
}

/**
 * Tells relays that a job left its queue (completed): the relay of its
 * source can give the route its next job at once instead of finding out at
 * its next look at the queue.
 */
export async function announceJobDone(redis: RedisClient, prefix: string, sourceId: string, jobId: string): Promise<void> {
  await redis.publish(jobsDoneChannel(prefix), JSON.stringify([sourceId, jobId]));
}

/**
 * Tells relays and workers to read the configuration now: a new route starts
 * its initial copy, a paused route stops, a changed mapping applies, at once
 * instead of within CONFIG_REFRESH_MS.
 */
export async function announceConfigChange(redis: RedisClient, prefix: string): Promise<void> {
  await redis.publish(configChangedChannel(prefix), '');
}

export interface SignalHandlers {
  jobDone?(sourceId: string, jobId: string): void;
  configChanged?(): void;
  leaseReleased?(sourceId: string): void;
  applied?(routeId: string, watermark: number): void;
}

/**
 * Listens for the signals it has handlers for, on a connection of its own (a
 * subscribed connection can run nothing else): one per process, whatever the
 * number of sources and routes.
 */
export class SignalListener {
  private readonly connection: RedisClient;
  private readonly channels: string[];

  constructor(redis: RedisClient, prefix: string, handlers: SignalHandlers) {
    const jobsDone = jobsDoneChannel(prefix);
    const configChanged = configChangedChannel(prefix);
    const leaseReleased = leaseReleasedChannel(prefix);
    const applied = appliedChannel(prefix);
    this.channels = [
      ...(handlers.jobDone ? [jobsDone] : []),
      ...(handlers.configChanged ? [configChanged] : []),
      ...(handlers.leaseReleased ? [leaseReleased] : []),
      ...(handlers.applied ? [applied] : []),
    ];
    this.connection = redis.duplicate();
    // Reconnecting is ioredis's business; an error event without a listener would be logged as unhandled.
    this.connection.on('error', () => undefined);
    this.connection.on('message', (channel: string, message: string) => {
      if (channel === configChanged) handlers.configChanged?.();
      const strings = parseStrings(message);
      if (channel === jobsDone && strings?.length === 2) handlers.jobDone?.(strings[0], strings[1]);
      if (channel === leaseReleased && strings?.length === 1) handlers.leaseReleased?.(strings[0]);
      if (channel === applied && strings && strings.length >= 2 && /^\d+$/.test(strings[0])) {
        for (const routeId of strings.slice(1)) handlers.applied?.(routeId, Number(strings[0]));
      }
    });
  }

  /**
   * Subscribes once the connection is ready (ioredis subscribes again by
   * itself after a reconnect). Not before: ioredis writes SUBSCRIBE at once
   * on a connection still running its ready check, whose INFO then fails in
   * subscriber mode, and the connection comes back with no subscription.
   */
  async start(): Promise<void> {
    if (this.channels.length === 0) return;
    // Redis down at start: wait for it (ioredis keeps trying), as every other part of the app does.
    if (this.connection.status !== 'ready') await new Promise((ready) => this.connection.once('ready', ready));
    await this.connection.subscribe(...this.channels);
  }

  close(): void {
    this.connection.disconnect();
  }
}

/** A signal's strings (a JSON array of them), or null for a message that is not a signal (ignoring one is safe: see above). */
function parseStrings(message: string): string[] | null {
  try {
    const parsed = JSON.parse(message) as unknown;
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : null;
  } catch {
    return null;
  }
}

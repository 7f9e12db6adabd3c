import { Redis } from 'ioredis';

/** The pub/sub channel on which workers say that a job of a source is done. */
export function jobsDoneChannel(prefix: string): string {
  return `${prefix}:jobs-done`;
}

/**
 * Tells relays that a job left its queue (completed): the relay of its
 * source can give the route its next job at once instead of finding out at
 * its next look at the queue. A signal only hurries the relay: pub/sub may
 * lose it (a subscriber reconnecting), and the relay still looks at the
 * queue now and then without one.
 */
export async function announceJobDone(redis: Redis, prefix: string, sourceId: string, jobId: string): Promise<void> {
  await redis.publish(jobsDoneChannel(prefix), JSON.stringify([sourceId, jobId]));
}

/**
 * Listens for announceJobDone on a connection of its own (a subscribed
 * connection can run nothing else): one per relay process, whatever the
 * number of sources and routes.
 */
export class JobDoneListener {
  private readonly connection: Redis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly onDone: (sourceId: string, jobId: string) => void,
  ) {
    this.connection = redis.duplicate();
    this.connection.on('message', (channel: string, message: string) => {
      if (channel !== jobsDoneChannel(this.prefix)) return;
      const signal = parseSignal(message);
      if (signal) this.onDone(signal[0], signal[1]);
    });
  }

  /** Subscribes (ioredis subscribes again by itself after a reconnect). */
  async start(): Promise<void> {
    await this.connection.subscribe(jobsDoneChannel(this.prefix));
  }

  close(): void {
    this.connection.disconnect();
  }
}

/** [sourceId, jobId], or null for a message that is not a signal (it only hurries a relay: ignoring one is safe). */
function parseSignal(message: string): [string, string] | null {
  try {
    const parsed = JSON.parse(message) as unknown;
    return Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string' ? [parsed[0], parsed[1]] : null;
  } catch {
    return null;
  }
}

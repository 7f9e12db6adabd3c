import { sourceHashTag } from './change-job';
import { RedisClient } from './redis';

/**
 * Detects that Redis lost its data (restart without persistence, FLUSHALL):
 * the relay writes a marker when it starts leading a source; if the marker is
 * gone later, every job in flight may be gone too and the relay rewinds to
 * the routes' durable checkpoints (invariant 1).
 */
export class RedisLossDetector {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /**
   * In the slot of the source's queue (sourceHashTag): on a Redis Cluster,
   * a node that loses its data loses the marker together with the jobs it
   * vouches for.
   */
  private key(sourceId: string): string {
    return `${this.prefix}:${sourceHashTag(sourceId)}:relay-marker`;
  }

  async mark(sourceId: string, epoch: number): Promise<void> {
    await this.redis.set(this.key(sourceId), String(epoch));
  }

  async isMarked(sourceId: string): Promise<boolean> {
    return (await this.redis.exists(this.key(sourceId))) === 1;
  }
}

import IORedis, { Redis } from 'ioredis';
import { Cleanup } from './support';

/**
 * Readings of the Redis server the apps use. INFO figures are for the whole
 * server, which other sessions share: a delta over a run is this run plus
 * whatever the others did meanwhile. `keysUnder` reads only this run's keys
 * (data only, not client buffers), so the two together show how much of a
 * delta is ours.
 */
export class RedisReadings {
  private constructor(private readonly redis: Redis) {}

  static async open(url: string, cleanup: Cleanup): Promise<RedisReadings> {
    const redis = new IORedis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    cleanup.add('redis readings connection', async () => redis.disconnect());
    return new RedisReadings(redis);
  }

  /** `used_memory` (bytes): what Redis allocated for data and buffers. */
  async usedMemory(): Promise<number> {
    return this.infoField('memory', 'used_memory');
  }

  /** `connected_clients`, this reading connection included. */
  async connectedClients(): Promise<number> {
    return this.infoField('clients', 'connected_clients');
  }

  /**
   * Keys under `prefix:` and the bytes they take (MEMORY USAGE with every
   * nested value counted), one pipeline per SCAN page so sampling a few
   * hundred keys every second stays cheap for the server.
   */
  async keysUnder(prefix: string): Promise<{ count: number; bytes: number }> {
    let cursor = '0';
    let count = 0;
    let bytes = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
      for (const [error, usage] of (await pipeline.exec()) ?? []) {
        // A key removed between SCAN and MEMORY USAGE answers null: it takes nothing any more.
        if (!error && typeof usage === 'number') {
          count++;
          bytes += usage;
        }
      }
    } while (cursor !== '0');
    return { count, bytes };
  }

  private async infoField(section: string, field: string): Promise<number> {
    const info = await this.redis.info(section);
    const match = info.match(new RegExp(`^${field}:(\\d+)`, 'm'));
    if (!match) throw new Error(`Redis INFO ${section} has no ${field}`);
    return Number(match[1]);
  }
}

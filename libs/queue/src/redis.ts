import IORedis, { Redis } from 'ioredis';

/** BullMQ workers need maxRetriesPerRequest null: a blocked command must survive a reconnect. */
export function createRedis(url: string): Redis {
  return new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/**
 * Deletes every key under `prefix:` (a deployment's or a test's queues and
 * markers) with SCAN, never KEYS, so a large Redis is not blocked.
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const redis = new IORedis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

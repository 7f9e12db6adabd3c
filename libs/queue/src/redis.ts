import IORedis, { Cluster, Redis, RedisOptions } from 'ioredis';
import { parseRedisLocation } from '@tributary/config';

/** A connection to Tributary's Redis: one server, or a Redis Cluster (REDIS_URL redis-cluster://…). */
export type RedisClient = Redis | Cluster;

/**
 * BullMQ workers need maxRetriesPerRequest null: a blocked command must
 * survive a reconnect. On a cluster every key Tributary writes for a source
 * shares one hash slot (sourceQueueName's hash tag), so BullMQ's scripts,
 * which touch many keys of a queue at once, run on one node.
 */
export function createRedis(url: string, overrides: RedisOptions = {}): RedisClient {
  const location = parseRedisLocation(url);
  const options: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, ...overrides };
  if (location.kind === 'server') return new IORedis(url, options);
  return new Cluster(location.nodes, {
    redisOptions: { ...options, username: location.username, password: location.password },
    lazyConnect: options.lazyConnect,
  });
}

/** The nodes that hold keys: the server itself, or each master of a cluster. */
export function keyNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * Deletes every key under `prefix:` (a deployment's or a test's queues and
 * markers) with SCAN, never KEYS, so a large Redis is not blocked; on a
 * cluster, on each master, one key per command (keys of one DEL must share
 * a slot there).
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const redis = createRedis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    for (const node of keyNodes(redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await Promise.all(keys.map((key) => node.unlink(key)));
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

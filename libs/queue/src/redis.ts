import IORedis, { Redis } from 'ioredis';

/** BullMQ workers need maxRetriesPerRequest null: a blocked command must survive a reconnect. */
export function createRedis(url: string): Redis {
  return new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

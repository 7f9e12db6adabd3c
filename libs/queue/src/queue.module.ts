import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { createRedis } from './redis';
import { QueueRegistry } from './queue-registry';
import { RedisLossDetector } from './redis-marker';

export const REDIS = Symbol('TRIBUTARY_REDIS');

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly queues: QueueRegistry,
  ) {}
  async onApplicationShutdown() {
    await this.queues.close();
    this.redis.disconnect();
  }
}

@Global()
@Module({
  providers: [
    { provide: REDIS, inject: [CONFIG], useFactory: (config: TributaryConfig) => createRedis(config.redis.url) },
    {
      provide: QueueRegistry,
      inject: [REDIS, CONFIG],
      useFactory: (redis: Redis, config: TributaryConfig) => new QueueRegistry(redis, config.redis.prefix),
    },
    {
      provide: RedisLossDetector,
      inject: [REDIS, CONFIG],
      useFactory: (redis: Redis, config: TributaryConfig) => new RedisLossDetector(redis, config.redis.prefix),
    },
    RedisCloser,
  ],
  exports: [REDIS, QueueRegistry, RedisLossDetector],
})
export class QueueModule {}

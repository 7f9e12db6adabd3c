import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { RedisClient, createRedis } from './redis';
import { QueueRegistry } from './queue-registry';
import { RedisLossDetector } from './redis-marker';

export const REDIS = Symbol('TRIBUTARY_REDIS');

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
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
      useFactory: (redis: RedisClient, config: TributaryConfig) => new QueueRegistry(redis, config.redis.prefix),
    },
    {
      provide: RedisLossDetector,
      inject: [REDIS, CONFIG],
      useFactory: (redis: RedisClient, config: TributaryConfig) => new RedisLossDetector(redis, config.redis.prefix),
    },
    RedisCloser,
  ],
  exports: [REDIS, QueueRegistry, RedisLossDetector],
})
export class QueueModule {}

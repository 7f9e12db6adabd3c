import { Injectable } from '@nestjs/common';
import { RouteRecord, TargetRecord } from '@tributary/control';
import { RedisClient, SignalHandlers, SignalListener } from '@tributary/queue';
import { RouteConsumer, RouteConsumerDeps } from './route-consumer';
import { SourceConsumer, SourceConsumerDeps } from './source-consumer';

/**
 * Makes the parts WorkerService starts, updates and closes as the
 * configuration changes. A SourceConsumer and a SignalListener connect to
 * Redis the moment they are made, so WorkerService does not call `new`
 * itself: its unit spec provides a fake in place of this class and sees
 * what the service makes of a configuration, with no Redis or database.
 */
@Injectable()
export class WorkerParts {
  createSourceConsumer(sourceId: string, deps: SourceConsumerDeps): SourceConsumer {
    return new SourceConsumer(sourceId, deps);
  }

  createRouteConsumer(route: RouteRecord, target: TargetRecord, deps: RouteConsumerDeps): RouteConsumer {
    return new RouteConsumer(route, target, deps);
  }

  createSignalListener(redis: RedisClient, prefix: string, handlers: SignalHandlers): SignalListener {
    return new SignalListener(redis, prefix, handlers);
  }
}

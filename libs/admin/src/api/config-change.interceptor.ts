import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable, tap } from 'rxjs';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { LOGGER, Logger } from '@tributary/logger';
import { announceConfigChange, REDIS, RedisClient } from '@tributary/queue';

/** Methods that only read: nothing to announce. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * After a request that changed the configuration succeeded, tells relays and
 * workers to read it now (announceConfigChange): a new route's initial copy
 * starts at once, a pause stops the route at once, instead of within
 * CONFIG_REFRESH_MS. Every request that is not a read counts (a connectivity
 * test too: one needless refresh is cheap). If the announcement fails, the
 * request still succeeds and the apps follow at their next refresh.
 */
@Injectable()
export class ConfigChangeInterceptor implements NestInterceptor {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(CONFIG) private readonly config: TributaryConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const method = context.switchToHttp().getRequest<{ method: string }>().method;
    if (READS.has(method)) return next.handle();
    return next.handle().pipe(tap({ complete: () => this.announce() }));
  }

  private announce(): void {
    announceConfigChange(this.redis, this.config.redis.prefix).catch((error: unknown) =>
      this.logger.warn({ err: error }, 'could not announce a configuration change; relays and workers follow at their next refresh'),
    );
  }
}

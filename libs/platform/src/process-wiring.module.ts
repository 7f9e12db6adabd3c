import { DynamicModule, Module, Type } from '@nestjs/common';
import { LOADED_CONFIG, TributaryConfig } from '@tributary/config';
import { Logger, PROCESS_LOGGER } from '@tributary/logger';

@Module({})
class ProcessWiringModule {}

/**
 * Wraps an app's root module so Nest uses the config and logger bootstrap
 * made before it started (ConfigModule and LoggerModule take them when
 * given): one of each per process, and every service's log lines carry the
 * app's name like bootstrap's own.
 */
export function withProcessWiring(root: Type<unknown> | DynamicModule, config: TributaryConfig, logger: Logger): DynamicModule {
  return {
    module: ProcessWiringModule,
    global: true,
    imports: [root],
    providers: [
      { provide: LOADED_CONFIG, useValue: config },
      { provide: PROCESS_LOGGER, useValue: logger },
    ],
    exports: [LOADED_CONFIG, PROCESS_LOGGER],
  };
}

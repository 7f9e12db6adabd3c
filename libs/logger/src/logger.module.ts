import { Global, Module } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { createLogger, Logger } from './logger';

export const LOGGER = Symbol('TRIBUTARY_LOGGER');

/**
 * Optional: the logger the process made before Nest started (platform's
 * bootstrap provides it, bound to the app's name), so services log through
 * the same one, `app` field included; without it a logger is made here.
 */
export const PROCESS_LOGGER = Symbol('TRIBUTARY_PROCESS_LOGGER');

@Global()
@Module({
  providers: [
    {
      provide: LOGGER,
      inject: [CONFIG, { token: PROCESS_LOGGER, optional: true }],
      useFactory: (config: TributaryConfig, processLogger?: Logger) => processLogger ?? createLogger(config.logLevel),
    },
  ],
  exports: [LOGGER],
})
export class LoggerModule {}

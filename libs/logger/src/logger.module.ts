import { Global, Module } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { createLogger } from './logger';

export const LOGGER = Symbol('TRIBUTARY_LOGGER');

@Global()
@Module({
  providers: [{ provide: LOGGER, inject: [CONFIG], useFactory: (config: TributaryConfig) => createLogger(config.logLevel) }],
  exports: [LOGGER],
})
export class LoggerModule {}

import { Global, Module } from '@nestjs/common';
import { loadConfig, TributaryConfig } from './config';

/** Injection token for the validated TributaryConfig. */
export const CONFIG = Symbol('TRIBUTARY_CONFIG');

@Global()
@Module({
  providers: [{ provide: CONFIG, useFactory: (): TributaryConfig => loadConfig() }],
  exports: [CONFIG],
})
export class ConfigModule {}

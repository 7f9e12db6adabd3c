import { Global, Module } from '@nestjs/common';
import { loadConfig, TributaryConfig } from './config';

/** Injection token for the validated TributaryConfig. */
export const CONFIG = Symbol('TRIBUTARY_CONFIG');

/**
 * Optional: the config the process already loaded before Nest started
 * (platform's bootstrap provides it), so there is one config per process;
 * without it (tests, embedding) the environment is read here.
 */
export const LOADED_CONFIG = Symbol('TRIBUTARY_LOADED_CONFIG');

@Global()
@Module({
  providers: [
    {
      provide: CONFIG,
      inject: [{ token: LOADED_CONFIG, optional: true }],
      useFactory: (loaded?: TributaryConfig): TributaryConfig => loaded ?? loadConfig(),
    },
  ],
  exports: [CONFIG],
})
export class ConfigModule {}

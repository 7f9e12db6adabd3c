import { Module } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { defaultTargetRegistry, TargetRegistry } from './registry';

/**
 * The process's one TargetRegistry (the built-in kinds, limited by the
 * configured TargetSettings: SQLITE_DIR, HTTP_TARGET_HOSTS), injected by
 * class wherever targets are made.
 */
@Module({
  providers: [{ provide: TargetRegistry, inject: [CONFIG], useFactory: (config: TributaryConfig) => defaultTargetRegistry(config.targets) }],
  exports: [TargetRegistry],
})
export class TargetRegistryModule {}

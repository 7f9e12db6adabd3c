import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@tributary/observability';
import { bootstrap, CoreModule } from '@tributary/platform';
import { RelayModule } from '@tributary/relay';

@Module({ imports: [CoreModule, RelayModule, ObservabilityModule] })
class RelayAppModule {}

void bootstrap('relay', RelayAppModule, { http: 'relay' });

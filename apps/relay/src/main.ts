import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { bootstrap, CoreModule } from '@tributary/platform';
import { RelayModule } from '@tributary/relay';

@Module({ imports: [CoreModule, RelayModule] })
class RelayAppModule {}

void bootstrap('relay', RelayAppModule, { http: false });

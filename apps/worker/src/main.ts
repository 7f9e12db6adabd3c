import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@tributary/observability';
import { bootstrap, CoreModule } from '@tributary/platform';
import { WorkerModule } from '@tributary/worker';

@Module({ imports: [CoreModule, WorkerModule, ObservabilityModule] })
class WorkerAppModule {}

void bootstrap('worker', WorkerAppModule, { http: 'worker' });

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { bootstrap, CoreModule } from '@tributary/platform';
import { WorkerModule } from '@tributary/worker';

@Module({ imports: [CoreModule, WorkerModule] })
class WorkerAppModule {}

void bootstrap('worker', WorkerAppModule, { http: false });

import { Module } from '@nestjs/common';
import { TargetRegistryModule } from '@tributary/targets';
import { WorkerParts } from './worker-parts';
import { WorkerService } from './worker.service';

/** Composed into the worker app and the all-in-one app; only this module starts queue workers. */
@Module({ imports: [TargetRegistryModule], providers: [WorkerParts, WorkerService] })
export class WorkerModule {}

import { Module } from '@nestjs/common';
import { WorkerService } from './worker.service';

/** Composed into the worker app and the all-in-one app; only this module starts queue workers. */
@Module({ providers: [WorkerService] })
export class WorkerModule {}

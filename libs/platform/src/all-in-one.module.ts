import { Module } from '@nestjs/common';
import { AdminModule } from '@tributary/admin';
import { CoreModule } from './core.module';
import { RelayModule } from '@tributary/relay';
import { WorkerModule } from '@tributary/worker';

/** Relay, worker and admin in one process, for local use and the demo. */
@Module({ imports: [CoreModule, RelayModule, WorkerModule, AdminModule] })
export class AllInOneModule {}

import { Module } from '@nestjs/common';
import { AdminModule } from '@tributary/admin';
import { CoreModule } from '@tributary/platform';
import { RelayModule } from '@tributary/relay';
import { WorkerModule } from '@tributary/worker';

/**
 * Relay, worker and admin in one process, for local use and the demo. Here,
 * not in @tributary/platform, so the relay and worker apps load only what
 * they run.
 */
@Module({ imports: [CoreModule, RelayModule, WorkerModule, AdminModule] })
export class AllInOneModule {}

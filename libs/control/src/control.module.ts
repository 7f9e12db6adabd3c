import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Knex } from 'knex';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { prepareControlDatabase } from './control-database';
import { CatalogRepository } from './catalog.repository';
import { ProgressRepository } from './progress.repository';
import { DeadLetterRepository } from './dead-letter.repository';
import { SnapshotRepository } from './snapshot.repository';
import { VerifyRunRepository } from './verify-run.repository';
import { RouteSampleRepository } from './route-sample.repository';
import { ConflictRepository } from './conflict.repository';

export const CONTROL_KNEX = Symbol('CONTROL_KNEX');

/** Closes the pool after every service that uses it has stopped (they stop in beforeApplicationShutdown). */
@Injectable()
class ControlKnexCloser implements OnApplicationShutdown {
  constructor(@Inject(CONTROL_KNEX) private readonly knex: Knex) {}
  async onApplicationShutdown() {
    await this.knex.destroy();
  }
}

/** The control schema: migrated on start, shared by relay, worker and admin in one process. */
@Global()
@Module({
  providers: [
    {
      provide: CONTROL_KNEX,
      inject: [CONFIG],
      useFactory: (config: TributaryConfig) => prepareControlDatabase(config.controlDatabaseUrl),
    },
    { provide: CatalogRepository, inject: [CONTROL_KNEX], useFactory: (knex: Knex) => new CatalogRepository(knex) },
    { provide: ProgressRepository, inject: [CONTROL_KNEX], useFactory: (knex: Knex) => new ProgressRepository(knex) },
    { provide: DeadLetterRepository, inject: [CONTROL_KNEX], useFactory: (knex: Knex) => new DeadLetterRepository(knex) },
    { provide: SnapshotRepository, inject: [CONTROL_KNEX], useFactory: (knex: Knex) => new SnapshotRepository(knex) },
    { provide: VerifyRunRepository, inject: [CONTROL_KNEX], useFactory: (knex: Knex) => new VerifyRunRepository(knex) },
    { provide: ConflictRepository, inject: [CONTROL_KNEX], useFactory: (knex: Knex) => new ConflictRepository(knex) },
    { provide: RouteSampleRepository, inject: [CONTROL_KNEX], useFactory: (knex: Knex) => new RouteSampleRepository(knex) },
    ControlKnexCloser,
  ],
  exports: [CONTROL_KNEX, CatalogRepository, ProgressRepository, DeadLetterRepository, SnapshotRepository, VerifyRunRepository, ConflictRepository, RouteSampleRepository],
})
export class ControlModule {}

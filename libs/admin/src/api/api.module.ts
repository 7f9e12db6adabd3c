import { Module } from '@nestjs/common';
import { CatalogRepository, SnapshotRepository } from '@tributary/control';
import { CaptureSetup, ReplicationSetup, RouteSetup, SchemaChangeSetup, SourceSetup, TargetSetup } from '@tributary/setup';
import { TargetRegistry, TargetRegistryModule } from '@tributary/targets';
import { RoutesController } from './routes.controller';
import { RoutesService } from './routes.service';
import { ConfigChangeInterceptor } from './config-change.interceptor';
import { SetupErrorsInterceptor } from './setup-errors.interceptor';
import { SourcesController } from './sources.controller';
import { SourcesService } from './sources.service';
import { TablesController } from './tables.controller';
import { TablesService } from './tables.service';
import { TargetsController } from './targets.controller';
import { TargetsService } from './targets.service';
import { VerifyController } from './verify.controller';
import { VerifyService } from './verify.service';

/**
 * Configuration API under /api: sources, captured tables, targets, routes,
 * and verify/repair runs of routes (started in the background).
 * The only writer of configuration (invariant 8); relay and workers follow
 * a change at once (ConfigChangeInterceptor's announcement) or, if that is
 * lost, at their next refresh (CONFIG_REFRESH_MS), without a restart.
 * The logic lives in @tributary/setup; these controllers and services
 * translate HTTP and keep credentials out of every answer.
 */
@Module({
  imports: [TargetRegistryModule],
  controllers: [SourcesController, TablesController, TargetsController, RoutesController, VerifyController],
  providers: [
    {
      provide: ReplicationSetup,
      inject: [CatalogRepository, SnapshotRepository, TargetRegistry],
      useFactory: (catalog: CatalogRepository, snapshots: SnapshotRepository, registry: TargetRegistry) => new ReplicationSetup(catalog, registry, snapshots),
    },
    { provide: SourceSetup, inject: [ReplicationSetup], useFactory: (setup: ReplicationSetup) => setup.sources },
    { provide: CaptureSetup, inject: [ReplicationSetup], useFactory: (setup: ReplicationSetup) => setup.tables },
    { provide: SchemaChangeSetup, inject: [ReplicationSetup], useFactory: (setup: ReplicationSetup) => setup.schemaChanges },
    { provide: TargetSetup, inject: [ReplicationSetup], useFactory: (setup: ReplicationSetup) => setup.targets },
    { provide: RouteSetup, inject: [ReplicationSetup], useFactory: (setup: ReplicationSetup) => setup.routes },
    SetupErrorsInterceptor,
    ConfigChangeInterceptor,
    SourcesService,
    TablesService,
    TargetsService,
    RoutesService,
    VerifyService,
  ],
  // The status module's rebuild watcher starts repairs through it (one run per route, across admins).
  exports: [VerifyService],
})
export class ApiModule {}

import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, Logger } from '@tributary/logger';
import { QueueRegistry } from '@tributary/queue';
import { RouteSetup } from '@tributary/setup';
import { CreatedRouteDto, CreateRouteDto, InitialCopyDto, RouteDto, UpdatedRouteDto, UpdateRouteDto } from './routes.dto';
import { SnapshotDto } from './snapshot.dto';

/**
 * Routes through the setup layer. Also keeps Redis tidy: jobs name their
 * route by id, so jobs a deleted route left behind in its source's queue
 * would otherwise be applied by a new route of the same id. (The worker
 * also drops a job whose source or table is not its route's.)
 */
@Injectable()
export class RoutesService {
  private readonly logger: Logger;

  constructor(
    private readonly routes: RouteSetup,
    private readonly queues: QueueRegistry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'admin' });
  }

  async create(body: CreateRouteDto): Promise<CreatedRouteDto> {
    const { route, initialCopy } = await this.routes.create(body, { beforeInsert: (next) => this.clearQueue(next.sourceId, next.id) });
    return { ...RouteDto.from(route), initialCopy: InitialCopyDto.from(initialCopy) };
  }

  async list(): Promise<RouteDto[]> {
    return (await this.routes.list()).map(RouteDto.from);
  }

  async get(id: string): Promise<RouteDto> {
    return RouteDto.from(await this.routes.get(id));
  }

  async update(id: string, body: UpdateRouteDto): Promise<UpdatedRouteDto> {
    const { route, initialCopy, resync } = await this.routes.update(id, {
      enabled: body.enabled,
      targetTable: body.targetTable,
      shareTargetTable: body.shareTargetTable,
      filter: body.filter,
      mapping: body.mapping,
      conflictPolicy: body.conflictPolicy,
      partitions: body.partitions,
      localOnly: body.localOnly,
      droppedColumns: body.droppedColumns,
    });
    return { ...RouteDto.from(route), initialCopy: initialCopy && InitialCopyDto.from(initialCopy), resync };
  }

  async setEnabled(id: string, enabled: boolean): Promise<RouteDto> {
    return RouteDto.from((await this.routes.update(id, { enabled })).route);
  }

  async resync(id: string, actor: string | null): Promise<SnapshotDto> {
    const snapshot = SnapshotDto.from(await this.routes.resync(id, actor));
    this.logger.info({ route: id, actor }, 're-sync requested');
    return snapshot;
  }

  async snapshot(id: string): Promise<SnapshotDto> {
    return SnapshotDto.from(await this.routes.snapshot(id));
  }

  async cancelSnapshot(id: string, actor: string | null): Promise<SnapshotDto> {
    const snapshot = SnapshotDto.from(await this.routes.cancelSnapshot(id, actor));
    this.logger.info({ route: id, actor }, 'initial copy / re-sync cancelled');
    return snapshot;
  }

  async delete(id: string): Promise<void> {
    const route = await this.routes.get(id);
    await this.routes.delete(id);
    await this.clearQueue(route.sourceId, id);
  }

  /**
   * Removes a route's waiting jobs from Redis (the outbox still has every change, so
   * nothing durable is lost). Best effort: a failure is logged, not thrown,
   * because the configuration change itself has been made.
   */
  private async clearQueue(sourceId: string, routeId: string): Promise<void> {
    try {
      await this.queues.removeRouteJobs(sourceId, routeId);
    } catch (error) {
      this.logger.warn({ route: routeId, err: error }, 'could not clear the queue of a deleted route');
    }
  }
}

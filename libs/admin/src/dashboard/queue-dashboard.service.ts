import { Inject, Injectable, BeforeApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { RequestHandler } from 'express';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { CatalogRepository, RouteRecord } from '@tributary/control';
import { LOGGER, Logger } from '@tributary/logger';
import { QueueRegistry } from '@tributary/queue';
import { PeriodicTask } from '@tributary/runtime';

/** Where bull-board is mounted. */
export const DASHBOARD_PATH = '/queues';

type Board = ReturnType<typeof createBullBoard>;

/**
 * bull-board over every source's queue (it carries the jobs of all the
 * source's routes; a job's data names its route), following configuration
 * changes every CONFIG_REFRESH_MS. Read-only: emptying a queue or removing a job would drop
 * changes without a record (invariant 9), and changing a queue's global
 * concurrency would break per-row order (invariant 5).
 */
@Injectable()
export class QueueDashboard implements OnModuleInit, BeforeApplicationShutdown {
  private readonly serverAdapter = new ExpressAdapter().setBasePath(DASHBOARD_PATH);
  private board: Board | null = null;
  private shown = '';
  /** Re-reads the routes; the board changes only when the set of routes (or what they describe) changed. */
  private readonly refresh = new PeriodicTask(
    () => this.syncRoutes(),
    (error) => this.logger.error({ err: error }, 'dashboard could not read the route list'),
  );
  private readonly logger: Logger;

  constructor(
    @Inject(CONFIG) private readonly config: TributaryConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly catalog: CatalogRepository,
    private readonly queues: QueueRegistry,
  ) {
    this.logger = logger.child({ component: 'dashboard' });
  }

  /** The express handler to mount at DASHBOARD_PATH. */
  get router(): RequestHandler {
    return this.serverAdapter.getRouter() as RequestHandler;
  }

  async onModuleInit(): Promise<void> {
    this.board = createBullBoard({
      queues: [],
      serverAdapter: this.serverAdapter,
      options: { uiConfig: { boardTitle: 'Tributary' } },
    });
    await this.refresh.start(this.config.configRefreshMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.refresh.stop();
  }

  private async syncRoutes(): Promise<void> {
    const [sources, routes] = await Promise.all([this.catalog.listSources(), this.catalog.listRoutes()]);
    const shown = sources.map((source) => ({ id: source.id, description: describe(routes.filter((route) => route.sourceId === source.id)) }));
    const fingerprint = shown.map((source) => `${source.id}\n${source.description}`).join('\n\n');
    if (!this.board || fingerprint === this.shown) return;
    this.board.replaceQueues(
      shown.map(
        (source) =>
          new BullMQAdapter(this.queues.queueFor(source.id), {
            readOnlyMode: true,
            displayName: `source ${source.id}`,
            description: source.description,
          }),
      ),
    );
    this.shown = fingerprint;
    this.logger.debug({ sources: sources.length, routes: routes.length }, 'dashboard shows the current sources and routes');
  }
}

/** A source queue's routes, as the dashboard describes them (a job's data names its route). */
function describe(routes: RouteRecord[]): string {
  if (routes.length === 0) return 'no routes';
  return routes
    .map((route) => `${route.id}: ${route.sourceId}.${route.table} → ${route.targetId}.${route.targetTable}${route.enabled ? '' : ' (paused)'}`)
    .join('; ');
}

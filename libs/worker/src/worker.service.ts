import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { CatalogRepository, ConflictRepository, DeadLetterRepository, ProgressRepository, RouteRecord, TargetRecord } from '@tributary/control';
import { LOGGER, Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { Job } from 'bullmq';
import { announceApplied, REDIS, RedisClient, SignalListener, TransactionJobData } from '@tributary/queue';
import { PeriodicTask } from '@tributary/runtime';
import { TableSchema } from '@tributary/model';
import { SourceVersioning, TargetRegistry } from '@tributary/targets';
import { CustomResolverLoader } from './custom-resolvers';
import { RouteConsumer } from './route-consumer';
import { TransactionConsumer } from './transaction-consumer';
import { SchemaCache } from './schema-cache';
import { RouteNotReadyError, SourceConsumer } from './source-consumer';
import { SourceOutboxes } from './source-outboxes';
import { capturedTargetTables } from './captured-targets';
import { sourceVersioningByRoute } from './source-versioning';
import { TargetPool } from './target-pool';
import { WorkerParts } from './worker-parts';

/**
 * Runs a SourceConsumer for every source (one queue and one blocking Redis
 * connection each) and a RouteConsumer for every route, and
 * follows configuration changes (new, paused, resumed, removed routes;
 * changed targets) without a restart.
 */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly consumers = new Map<string, RouteConsumer>();
  /** Per source and transactional target: applies its transaction jobs one at a time. */
  private readonly transactionConsumers = new Map<string, TransactionConsumer>();
  private readonly sources = new Map<string, SourceConsumer>();
  private readonly targets: TargetPool;
  private readonly outboxes = new SourceOutboxes();
  private readonly resolvers: CustomResolverLoader;
  private readonly schemas: SchemaCache;
  private readonly refresh = new PeriodicTask(
    () =>
      this.syncRoutes().then(
        () => void (this.lastReadFailed = false),
        (error: unknown) => {
          this.lastReadFailed = true;
          throw error;
        },
      ),
    (error) => this.logger.error({ err: error }, 'worker could not read the route list'),
  );
  /** Routes whose target table several sources write with shared keys: their versions per source (sourceVersioningByRoute). */
  private versioning = new Map<string, SourceVersioning>();
  /** Routes into a table the target database captures too, with its schema there (capturedTargetTables). */
  private capturedAs = new Map<string, TableSchema>();
  /** The route ids the catalog held at the last read that succeeded (null: none has yet), and whether the latest failed. */
  private catalogRoutes: Set<string> | null = null;
  private lastReadFailed = false;
  /** Source consumers being closed (sources that were removed). */
  private readonly closing = new Set<Promise<void>>();
  /** The admin's word that the configuration changed: paused routes, new mappings and targets apply now, not at the next refresh. */
  private readonly signals: SignalListener;

  constructor(
    @Inject(CONFIG) private readonly config: TributaryConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly catalog: CatalogRepository,
    private readonly progress: ProgressRepository,
    private readonly deadLetters: DeadLetterRepository,
    private readonly conflicts: ConflictRepository,
    private readonly metrics: Metrics,
    registry: TargetRegistry,
    private readonly parts: WorkerParts,
  ) {
    this.schemas = new SchemaCache(catalog);
    this.resolvers = new CustomResolverLoader(config.conflictResolversDir);
    this.targets = new TargetPool(registry);
    this.signals = parts.createSignalListener(redis, config.redis.prefix, { configChanged: () => void this.refresh.runAgain() });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.signals.start();
    await this.refresh.start(this.config.configRefreshMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.signals.close();
    await this.refresh.stop();
    // Graceful: each source's jobs in hand are finished (and their progress mirrored) before closing.
    await Promise.all([...this.sources.values()].map((source) => source.close()));
    await Promise.all(this.closing);
    await Promise.all([...this.transactionConsumers.values()].map((consumer) => consumer.close()));
    await Promise.all([...this.consumers.values()].map((consumer) => consumer.close()));
    this.sources.clear();
    this.consumers.clear();
    await Promise.all([this.targets.close(), this.outboxes.close()]);
  }


  /**
   * The consumer of a route a job names. A route created a moment ago may not
   * be known yet (the relay can be quicker to see it): the configuration is
   * read once more before the route is taken for gone (and when the job asks
   * for another configuration of the route than this worker knows: `reread`).
   */
  private async routeConsumer(routeId: string, reread = false): Promise<RouteConsumer | null> {
    if (reread) await this.refresh.runAgain();
    else if (!this.consumers.has(routeId)) await this.refresh.run();
    const consumer = this.consumers.get(routeId);
    if (consumer) return consumer;
    // Gone only if the catalog, read just now, says so; dropping the job of a route that exists
    // (its target missing, or the catalog unreadable) would lose the relay's ranges in it.
    if (this.lastReadFailed || this.catalogRoutes === null || this.catalogRoutes.has(routeId)) {
      throw new RouteNotReadyError(`route ${routeId} cannot be applied now (the route list could not be read, or its target is missing); its job waits`);
    }
    return null;
  }

  /**
   * A transaction job: applied with the consumers of its routes that still
   * exist as the job knows them (a route deleted since drops out; the
   * relay's next job of the target follows the route list), by the
   * target's transaction consumer, one job at a time.
   */
  private async transactionJob(job: Job<TransactionJobData>, token: string | undefined): Promise<void> {
    const data = job.data;
    const members: RouteConsumer[] = [];
    for (const { routeId, table } of data.routes) {
      let consumer = await this.routeConsumer(routeId);
      // Made for a configuration this worker has not read yet (e.g. its table renamed): read it again first.
      if (consumer && !consumer.isRouteOf(data.sourceId, table)) consumer = await this.routeConsumer(routeId, true);
      if (consumer?.isRouteOf(data.sourceId, table) && consumer.targetRecord.id === data.targetId) members.push(consumer);
    }
    if (members.length === 0) {
      this.logger.warn({ job: job.id, target: data.targetId }, 'transaction job whose routes no longer exist as it was made for dropped');
      return;
    }
    const key = `${data.sourceId}\0${data.targetId}`;
    let consumer = this.transactionConsumers.get(key);
    if (!consumer) {
      consumer = new TransactionConsumer(data.targetId, {
        targets: this.targets,
        outboxes: this.outboxes,
        progress: this.progress,
        metrics: this.metrics,
        logger: this.logger,
        retryMinMs: this.config.worker.retryMinMs,
        retryMaxMs: this.config.worker.retryMaxMs,
        batchRows: this.config.relay.jobMaxRows,
      });
      this.transactionConsumers.set(key, consumer);
    }
    await consumer.process(job, token, members);
  }

  private async syncRoutes(): Promise<void> {
    const [routes, targets, sources, captured] = await Promise.all([
      this.catalog.listRoutes(),
      this.catalog.listTargets(),
      this.catalog.listSources(),
      this.catalog.listCapturedTables(),
    ]);
    this.catalogRoutes = new Set(routes.map((route) => route.id));
    this.versioning = sourceVersioningByRoute(routes);
    this.capturedAs = await capturedTargetTables(routes, targets, captured, this.schemas);
    await this.outboxes.sync(sources);
    const targetById = new Map(targets.map((target) => [target.id, target]));
    const wanted = new Set<string>();
    for (const route of routes) {
      const target = targetById.get(route.targetId);
      if (!target) {
        this.logger.error({ route: route.id, target: route.targetId }, 'route names a target that does not exist');
        continue;
      }
      wanted.add(route.id);
      const consumer = this.consumers.get(route.id);
      if (consumer) consumer.update(route, target);
      else this.consumers.set(route.id, this.createConsumer(route, target));
    }
    // Every source's queue, routes or not: a route created a moment from now must not wait for the
    // next refresh (CONFIG_REFRESH_MS) before its first job, e.g. its initial copy, is even taken.
    const fed = new Set(sources.map((source) => source.id));
    for (const sourceId of fed) if (!this.sources.has(sourceId)) this.sources.set(sourceId, this.createSourceConsumer(sourceId));
    for (const [id, source] of this.sources) {
      if (fed.has(id)) continue;
      this.sources.delete(id);
      // Not awaited here: closing waits for the source's jobs in hand, and one of them may be what
      // asked for this refresh (a job of a route of the source, just deleted with it).
      this.closeInBackground(source.close(), { source: id });
    }
    for (const [id, consumer] of this.consumers) {
      if (wanted.has(id)) continue;
      this.consumers.delete(id);
      this.closeInBackground(consumer.close(), { route: id });
    }
  }

  /** Lets a consumer finish what it holds without holding up the refresh; shutdown waits for it. */
  private closeInBackground(closing: Promise<void>, what: Record<string, string>): void {
    const closed = closing.catch((error) => this.logger.warn({ err: error, ...what }, 'closing a consumer failed'));
    this.closing.add(closed);
    void closed.finally(() => this.closing.delete(closed));
  }

  private createSourceConsumer(sourceId: string): SourceConsumer {
    this.logger.info({ source: sourceId }, 'worker takes the jobs of source');
    return this.parts.createSourceConsumer(sourceId, {
      connection: this.redis,
      prefix: this.config.redis.prefix,
      concurrency: this.config.worker.concurrency,
      logger: this.logger,
      routeConsumer: (routeId, reread) => this.routeConsumer(routeId, reread),
      transactionJob: (job, token) => this.transactionJob(job, token),
    });
  }

  private createConsumer(route: RouteRecord, target: TargetRecord): RouteConsumer {
    this.logger.info({ route: route.id, target: target.id, table: route.table }, 'worker starts route');
    return this.parts.createRouteConsumer(route, target, {
      schemas: this.schemas,
      targets: this.targets,
      outboxes: this.outboxes,
      progress: this.progress,
      deadLetters: this.deadLetters,
      conflicts: this.conflicts,
      resolvers: this.resolvers,
      metrics: this.metrics,
      logger: this.logger,
      retryMinMs: this.config.worker.retryMinMs,
      retryMaxMs: this.config.worker.retryMaxMs,
      batchRows: this.config.relay.jobMaxRows,
      batchBytes: this.config.relay.jobMaxBytes,
      // Fire and forget: a lost announcement only makes a waiter find out at its next look.
      applied: (feed, watermark) => void announceApplied(this.redis, this.config.redis.prefix, [feed], watermark).catch(() => undefined),
      versionsOf: (routeId) => this.versioning.get(routeId),
      capturedAs: (routeId) => this.capturedAs.get(routeId),
    });
  }
}

import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { Knex } from 'knex';
import { CONFIG, redactUrl, TributaryConfig } from '@tributary/config';
import { CatalogRepository, openMysql, ProgressRepository, SnapshotRepository } from '@tributary/control';
import { LOGGER, Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { OutboxRepository } from '@tributary/outbox';
import { LeaderLease, PeriodicTask, settledWithin } from '@tributary/runtime';
import { announceApplied, announceLeaseReleased, QueueRegistry, REDIS, RedisClient, RedisLossDetector, SignalListener } from '@tributary/queue';
import { SnapshotRunner } from '@tributary/snapshot';
import { DriftMonitor } from './drift-monitor';
import { SourceRelay } from './source-relay';

interface RunningSource {
  url: string;
  relay: SourceRelay;
  copier: SnapshotRunner;
  knex: Knex;
  driftTimer: NodeJS.Timeout;
}

/**
 * Runs a SourceRelay for every configured source and follows configuration
 * changes without a restart (invariant 8). Several relay processes may run:
 * each source is led by one of them at a time.
 */
/** How long a stopping relay waits to tell standby relays that a source's lead is free. */
const ANNOUNCE_WAIT_MS = 1000;

@Injectable()
export class RelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly running = new Map<string, RunningSource>();
  private readonly leaderId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly refresh = new PeriodicTask(
    () => this.syncSources(),
    (error) => this.logger.error({ err: error }, 'relay could not read the source list'),
  );
  /**
   * Workers' word that a job is done (its route gets its next job at once,
   * not at the relay's next look), the admin's that the configuration
   * changed (a new route or copy starts at once, not at the next refresh),
   * and other relays' that they let go of a source (a standby leads at once).
   */
  private readonly signals: SignalListener;

  constructor(
    @Inject(CONFIG) private readonly config: TributaryConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly catalog: CatalogRepository,
    private readonly progress: ProgressRepository,
    private readonly snapshots: SnapshotRepository,
    private readonly queues: QueueRegistry,
    private readonly lossDetector: RedisLossDetector,
    private readonly metrics: Metrics,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {
    this.signals = new SignalListener(redis, config.redis.prefix, {
      jobDone: (sourceId, jobId) => this.jobDone(sourceId, jobId),
      configChanged: () => this.configChanged(),
      leaseReleased: (sourceId) => this.leaseReleased(sourceId),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.signals.start();
    await this.refresh.start(this.config.configRefreshMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.refresh.stop();
    await Promise.all([...this.running.keys()].map((id) => this.stopSource(id)));
    this.signals.close();
  }

  private jobDone(sourceId: string, jobId: string): void {
    const running = this.running.get(sourceId);
    running?.relay.jobDone(jobId);
    running?.copier.jobDone();
  }

  /** Sources added or removed are followed after the source list is read again; the running ones look at their routes now. */
  private configChanged(): void {
    void this.refresh.runAgain();
    for (const { relay, copier } of this.running.values()) {
      relay.configChanged();
      copier.wake();
    }
  }

  private async syncSources(): Promise<void> {
    const sources = await this.catalog.listSources();
    const wanted = new Map(sources.map((source) => [source.id, source.url]));
    for (const [id, running] of this.running) {
      if (wanted.get(id) !== running.url) await this.stopSource(id);
    }
    for (const [id, url] of wanted) {
      if (!this.running.has(id)) this.startSource(id, url);
    }
  }

  private startSource(sourceId: string, url: string): void {
    const { relay: settings, outbox, configRefreshMs } = this.config;
    const knex = openMysql(url);
    const logger = this.logger.child({ source: sourceId, component: 'relay' });
    const outboxRepository = new OutboxRepository(knex);
    const relay = new SourceRelay({
      sourceId,
      leaderId: this.leaderId,
      outbox: outboxRepository,
      lease: new LeaderLease(this.config.controlDatabaseUrl, leaderLockName(this.config.controlDatabaseUrl, sourceId)),
      catalog: this.catalog,
      progress: this.progress,
      queues: this.queues,
      lossDetector: this.lossDetector,
      metrics: this.metrics,
      logger,
      applied: (routeIds, watermark) => void announceApplied(this.redis, this.config.redis.prefix, routeIds, watermark).catch(() => undefined),
      settings: {
        ...settings,
        configRefreshMs,
        retentionMs: outbox.retentionMs,
        purgeIntervalMs: outbox.purgeIntervalMs,
        purgeChunkRows: outbox.purgeChunkRows,
      },
    });
    // Initial copies and re-syncs: one copier per source across all relay processes, apart from the relay's own lock.
    const copier = new SnapshotRunner({
      sourceId,
      source: knex,
      outbox: outboxRepository,
      lease: new LeaderLease(this.config.controlDatabaseUrl, leaderLockName(this.config.controlDatabaseUrl, sourceId, 'copier')),
      catalog: this.catalog,
      snapshots: this.snapshots,
      progress: this.progress,
      metrics: this.metrics,
      logger: logger.child({ component: 'copier' }),
      settings: { ...this.config.snapshot, pollMs: configRefreshMs, leaderRetryMs: settings.leaderRetryMs },
    });
    logger.info({ url: redactUrl(url) }, 'relay starts for source');
    relay.start();
    copier.start();
    const drift = new DriftMonitor(sourceId, knex, this.catalog, this.metrics, logger);
    const driftTimer = setInterval(() => void drift.check().catch(() => undefined), this.config.driftCheckMs);
    void drift.check().catch(() => undefined);
    this.running.set(sourceId, { url, relay, copier, knex, driftTimer });
  }

  /** The leader of a source let go: this process, if it stands by, tries to take the lead now. */
  private leaseReleased(sourceId: string): void {
    const running = this.running.get(sourceId);
    running?.relay.leaderLeft();
    running?.copier.wake();
  }

  private async stopSource(sourceId: string): Promise<void> {
    const running = this.running.get(sourceId);
    if (!running) return;
    this.running.delete(sourceId);
    clearInterval(running.driftTimer);
    await Promise.all([running.relay.stop(), running.copier.stop()]);
    await running.knex.destroy();
    // Both leases are released now: a standby relay need not wait for its next try (RELAY_LEADER_RETRY_MS).
    // Not waited for longer than ANNOUNCE_WAIT_MS: with Redis away the command would wait for it, and so would shutdown.
    const announced = announceLeaseReleased(this.redis, this.config.redis.prefix, sourceId).catch((error: unknown) =>
      this.logger.warn({ source: sourceId, err: error }, 'could not tell standby relays that the lead is free; they take it at their next try'),
    );
    if (!(await settledWithin(announced, ANNOUNCE_WAIT_MS))) {
      this.logger.warn({ source: sourceId }, 'Redis did not take the lead-released announcement in time; standby relays take the lead at their next try');
    }
  }
}

/**
 * Named locks are server-wide in MySQL: two deployments whose control
 * databases share a server must not contend for one source id, so the name
 * hashes the control database together with the source.
 */
export function leaderLockName(controlDatabaseUrl: string, sourceId: string, role: 'relay' | 'copier' = 'relay'): string {
  const database = new URL(controlDatabaseUrl).pathname.replace(/^\//, '');
  return `tributary_${role}_${createHash('sha1').update(`${database}/${sourceId}`).digest('hex')}`;
}

import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { LOGGER, Logger } from '@tributary/logger';
import { RouteSampleRepository } from '@tributary/control';
import { Metrics } from '@tributary/metrics';
import { PeriodicTask } from '@tributary/runtime';
import { RetryWatchdog } from './retry-watchdog';
import { ROUTE_STATES } from './route-state';
import { StatusService } from './status.service';

/** How often the retry watchdog looks for lost retry jobs. */
const SWEEP_EVERY_MS = 60_000;
/**
 * One history sample per route every 5 refreshes (10 s by default, 1–10 s): a time bucket, so several
 * admins write it once.
 */
export function sampleEveryMs(configRefreshMs: number): number {
  return Math.min(10_000, Math.max(1000, 5 * configRefreshMs));
}
/** History kept: the status page's hour and then some. */
export const HISTORY_KEPT_MS = 3 * 3600_000;
/** Rows of old history deleted per sweep, so a prune never holds the table long. */
const PRUNE_ROWS = 10_000;

/**
 * On a timer (CONFIG_REFRESH_MS, kept between 1 s and 5 s): samples every
 * route's status, which feeds the throughput window and the backlog and
 * dead-letter gauges of this process's /metrics (invariant 9), and every
 * sampleEveryMs the routes' history in the control schema (what a status
 * page charts; it survives an admin restart); once a minute, runs the retry
 * watchdog and prunes history older than HISTORY_KEPT_MS.
 */
@Injectable()
export class StatusSampler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** One sample per tick; overlapping ticks are skipped (a slow source must not pile them up). */
  private readonly sampling = new PeriodicTask(
    () => this.sample(),
    (error) => this.logger.error({ err: error }, 'route status sampling failed; will retry'),
  );
  private lastSweepAt = 0;
  private lastSampleAt = 0;
  private readonly labelled = new Set<string>();
  private readonly lagErrors = new Map<string, string>();
  private readonly logger: Logger;

  constructor(
    @Inject(CONFIG) private readonly config: TributaryConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly status: StatusService,
    private readonly watchdog: RetryWatchdog,
    private readonly metrics: Metrics,
    private readonly samples: RouteSampleRepository,
  ) {
    this.logger = logger.child({ component: 'status' });
  }

  onApplicationBootstrap(): void {
    const every = Math.min(5000, Math.max(1000, this.config.configRefreshMs));
    void this.sampling.start(every);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.sampling.stop();
  }

  private async sample(): Promise<void> {
    const statuses = await this.status.all();
    const { routeBacklogChanges, routeBacklogSeconds, deadLettersOpen, conflictsOpen, routeState } = this.metrics;
    const seen = new Set<string>();
    for (const status of statuses) {
      const labels = { route: status.route };
      seen.add(status.route);
      deadLettersOpen.set(labels, status.deadLetters.open);
      conflictsOpen.set(labels, status.conflicts.open);
      // One series per state, so an alert can say `tributary_route_state{state="failing"} == 1`.
      for (const state of ROUTE_STATES) routeState.set({ ...labels, state }, state === status.state ? 1 : 0);
      if (status.lag.changes === null || status.lag.seconds === null) {
        // Unknown is not zero: drop the series rather than claim the route is caught up.
        routeBacklogChanges.remove(labels);
        routeBacklogSeconds.remove(labels);
        const error = status.lag.error ?? 'unknown';
        if (this.lagErrors.get(status.route) !== error) this.logger.warn({ route: status.route, error }, 'route lag unknown');
        this.lagErrors.set(status.route, error);
      } else {
        this.lagErrors.delete(status.route);
        routeBacklogChanges.set(labels, status.lag.changes);
        routeBacklogSeconds.set(labels, status.lag.seconds);
      }
    }
    for (const route of this.labelled) {
      if (seen.has(route)) continue;
      for (const gauge of [routeBacklogChanges, routeBacklogSeconds, deadLettersOpen, conflictsOpen]) gauge.remove({ route });
      for (const state of ROUTE_STATES) routeState.remove({ route, state });
      this.lagErrors.delete(route);
    }
    this.labelled.clear();
    for (const route of seen) this.labelled.add(route);

    const now = Date.now();
    const every = sampleEveryMs(this.config.configRefreshMs);
    if (Math.floor(now / every) !== Math.floor(this.lastSampleAt / every)) {
      this.lastSampleAt = now;
      await this.samples.record(
        statuses.map((s) => ({ routeId: s.route, state: s.state, lagChanges: s.lag.changes, lagSeconds: s.lag.seconds, appliedTotal: s.appliedTotal, watermark: s.watermark })),
        now,
        every,
      );
    }
    if (now - this.lastSweepAt >= SWEEP_EVERY_MS) {
      this.lastSweepAt = now;
      await this.watchdog.sweep();
      await this.samples.prune(new Date(now - HISTORY_KEPT_MS), PRUNE_ROWS);
    }
  }
}

import { TributaryConfig } from '@tributary/config';
import { Logger } from '@tributary/logger';
import { CatalogRepository, ProgressRepository, RouteRecord } from '@tributary/control';
import { Metrics } from '@tributary/metrics';
import { WireChange } from '@tributary/model';
import { LeaderLease, LeaseLoop, OutboxRepository } from '@tributary/outbox';
import { changeJobId, CHANGE_JOB_NAME, ChangeJobData, QueueRegistry, RedisLossDetector } from '@tributary/queue';
import { Hole, HoleTracker, parseHoles, Range } from './hole-tracker';
import { planJobs, RouteFeed } from './job-planner';

/** The relay's slice of the config, plus the outbox housekeeping it runs. */
export type SourceRelaySettings = TributaryConfig['relay'] & {
  configRefreshMs: number;
  retentionMs: number;
  purgeIntervalMs: number;
  purgeChunkRows: number;
};

export interface SourceRelayDeps {
  sourceId: string;
  leaderId: string;
  outbox: OutboxRepository;
  lease: LeaderLease;
  catalog: CatalogRepository;
  progress: ProgressRepository;
  queues: QueueRegistry;
  lossDetector: RedisLossDetector;
  metrics: Metrics;
  logger: Logger;
  settings: SourceRelaySettings;
}

/** Probes per cycle: enough for steady load; more holes wait for the next cycle. */
const PROBES_PER_CYCLE = 32;
/** Ranges per fill query, to keep the statement small. */
const FILL_RANGES_PER_QUERY = 500;
/** Ids closed by timeout that are still watched for a late commit. */
const MAX_SUSPECTS = 10_000;

/** Thrown inside a cycle when this relay no longer leads; ends leadership quietly. */
class DeposedError extends Error {}

/**
 * The relay of one source: while it holds the leader lease it reads committed
 * outbox rows in seq order, turns them into route jobs and moves its fenced
 * checkpoint only after the jobs are in Redis (invariants 1, 2, 3, 7).
 */
export class SourceRelay {
  private readonly loop: LeaseLoop;

  constructor(deps: SourceRelayDeps) {
    this.loop = new LeaseLoop(
      deps.lease,
      deps.settings.leaderRetryMs,
      () => new Leadership(deps, () => this.loop.stopped, (ms) => this.loop.sleep(ms)).lead(),
      (error) => deps.logger.error({ err: error }, 'relay cycle failed; retrying'),
    );
  }

  /** Waits for leadership, leads until deposed or stopped, and waits again. */
  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}

/** One term as leader: state lives here and dies with the term. */
class Leadership {
  private epoch = 0;
  private watermark = 0;
  private high = 0;
  private tracker!: HoleTracker;
  private suspects: Array<Range & { closedAt: number }> = [];
  private routes: RouteFeed[] = [];
  /** Every route of the source, fed or paused: the purge must wait for all of them. */
  private allRouteIds: string[] = [];
  private routesLoadedAt = 0;
  private readonly sentWatermark = new Map<string, number>();
  private readonly heartbeatAt = new Map<string, number>();
  private lastPurgeAt = 0;
  private idleMs = 0;
  /** The last checkpoint written, to skip identical writes. */
  private savedState = '';

  constructor(
    private readonly deps: SourceRelayDeps,
    private readonly stopped: () => boolean,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async lead(): Promise<void> {
    const { progress, sourceId, leaderId, logger, lossDetector, settings } = this.deps;
    const state = await progress.claimRelayState(sourceId, leaderId, 0);
    this.epoch = state.epoch;
    this.watermark = state.watermark;
    this.high = state.high;
    this.tracker = new HoleTracker(parseHoles(state.holes), {
      closeDelayMs: settings.holeCloseDelayMs,
      timeoutMs: settings.holeTimeoutMs,
    });
    logger.info({ epoch: this.epoch, watermark: this.watermark, high: this.high, holes: this.tracker.size() }, 'relay leads source');
    // Redis may have lost its data while no relay was running: rewind unless our marker is still there.
    if (!(await lossDetector.isMarked(sourceId))) await this.rewind('no marker in Redis at start (first start, or Redis lost its data)', 'info');
    else await this.catchUpIdleRoutes();

    while (!this.stopped()) {
      try {
        const moved = await this.cycle();
        this.idleMs = moved ? 0 : Math.min(settings.pollMaxMs, Math.max(settings.pollMinMs, this.idleMs * 2 || settings.pollMinMs));
        if (this.idleMs > 0) await this.sleep(this.idleMs);
      } catch (error) {
        if (error instanceof DeposedError) {
          logger.warn({ epoch: this.epoch }, `relay stops leading: ${error.message}`);
          return;
        }
        throw error;
      }
    }
  }

  /** One poll. Returns true when it moved data, so the next poll comes at once. */
  private async cycle(): Promise<boolean> {
    const { outbox, lease, lossDetector, metrics, sourceId, settings } = this.deps;
    const endTimer = metrics.pollDuration.startTimer({ source: sourceId });
    if (!(await lease.isHeld())) throw new DeposedError('leader lock lost');
    if (!(await lossDetector.isMarked(sourceId))) await this.rewind('Redis marker vanished (restart without persistence or FLUSHALL)');
    await this.refreshRoutes();
    if (await this.backlogged()) {
      endTimer();
      return false;
    }

    const now = Date.now();
    const delivered: WireChange[] = [];
    // 1. Holes that filled since the last cycle (the common case: a slower commit).
    delivered.push(...(await this.readHoles(this.tracker.ranges())));
    this.tracker.fill(delivered.map((change) => change.seq));

    // 2. New rows past the highest seq read.
    const fresh = await outbox.readAfter(this.high, settings.batchRows);
    this.tracker.noteRead(this.high, fresh.map((change) => change.seq), now);
    if (fresh.length > 0) this.high = fresh[fresh.length - 1].seq;
    delivered.push(...fresh);

    // 3. Decide old holes exactly with locking probes.
    for (const hole of this.tracker.dueForProbe(now, PROBES_PER_CYCLE)) {
      const outcome = this.tracker.recordProbe(hole, await outbox.probe(hole.from, hole.to), Date.now());
      if (outcome === 'closed') {
        metrics.holesClosed.inc({ source: sourceId, how: 'exact' }, hole.to - hole.from + 1);
        this.deps.logger.debug({ from: hole.from, to: hole.to }, 'hole closed: its transaction rolled back');
      }
    }
    // 4. The last resort, and a watch for commits that arrive after it.
    this.expireHoles(now);
    delivered.push(...(await this.lateCommits(now)));

    delivered.sort((a, b) => a.seq - b.seq);
    for (const change of delivered) metrics.changesCaptured.inc({ source: sourceId, table: change.table });
    const watermarkBefore = this.watermark;
    this.watermark = Math.max(this.watermark, this.tracker.watermark(this.high));
    const enqueued = await this.enqueue(delivered, watermarkBefore, now);
    await this.checkpoint();
    metrics.openHoles.set({ source: sourceId }, this.tracker.size());
    metrics.relayPosition.set({ source: sourceId, kind: 'high' }, this.high);
    metrics.relayPosition.set({ source: sourceId, kind: 'watermark' }, this.watermark);
    if (now - this.lastPurgeAt >= settings.purgeIntervalMs) {
      // The purge is housekeeping: its failure is logged, never a reason to stop relaying.
      await this.purge(now).catch((error) => this.deps.logger.error({ err: error }, 'outbox purge failed; will retry'));
    }
    endTimer();
    return delivered.length > 0 || enqueued > 0 || this.watermark !== watermarkBefore;
  }

  private async readHoles(ranges: Range[]): Promise<WireChange[]> {
    const found: WireChange[] = [];
    for (let i = 0; i < ranges.length; i += FILL_RANGES_PER_QUERY) {
      found.push(...(await this.deps.outbox.readRanges(ranges.slice(i, i + FILL_RANGES_PER_QUERY))));
    }
    return found;
  }

  private expireHoles(now: number): void {
    const expired: Hole[] = this.tracker.expire(now);
    for (const hole of expired) {
      const count = hole.to - hole.from + 1;
      this.deps.metrics.holesClosed.inc({ source: this.deps.sourceId, how: 'timeout' }, count);
      this.deps.logger.warn(
        { from: hole.from, to: hole.to, ageMs: now - hole.firstSeenAt },
        'hole closed by timeout: its transaction neither committed nor rolled back in time; still watching for a late commit',
      );
      this.suspects.push({ from: hole.from, to: hole.to, closedAt: now });
    }
    const keepAfter = now - this.deps.settings.retentionMs;
    this.suspects = this.suspects.filter((suspect) => suspect.closedAt >= keepAfter).slice(-MAX_SUSPECTS);
  }

  /** Rows that committed inside a hole already closed by timeout: delivered late, never dropped. */
  private async lateCommits(now: number): Promise<WireChange[]> {
    if (this.suspects.length === 0) return [];
    const late = await this.readHoles(this.suspects);
    if (late.length === 0) return [];
    const seqs = new Set(late.map((change) => change.seq));
    this.suspects = this.suspects.flatMap((suspect) => splitAround(suspect, seqs));
    this.deps.metrics.lateCommits.inc({ source: this.deps.sourceId }, late.length);
    for (const change of late) {
      this.deps.logger.error({ seq: change.seq, table: change.table, at: now }, 'late commit inside a hole closed by timeout; delivered now');
    }
    return late;
  }

  private async enqueue(changes: WireChange[], watermarkBefore: number, now: number): Promise<number> {
    const { queues, metrics, settings, sourceId } = this.deps;
    const heartbeat = new Set<string>();
    for (const route of this.routes) {
      const sent = this.sentWatermark.get(route.routeId) ?? -1;
      const last = this.heartbeatAt.get(route.routeId) ?? 0;
      if (this.watermark > sent && now - last >= settings.heartbeatMs) heartbeat.add(route.routeId);
    }
    const jobs = planJobs({
      sourceId,
      changes,
      routes: this.routes,
      watermarkBefore,
      watermarkAfter: this.watermark,
      heartbeat,
      maxRows: settings.jobMaxRows,
      maxBytes: settings.jobMaxBytes,
    });
    const byRoute = new Map<string, ChangeJobData[]>();
    for (const job of jobs) byRoute.set(job.routeId, [...(byRoute.get(job.routeId) ?? []), job]);
    for (const [routeId, routeJobs] of byRoute) {
      await queues
        .queueFor(routeId)
        .addBulk(routeJobs.map((data) => ({ name: CHANGE_JOB_NAME, data, opts: { jobId: changeJobId(data) } })));
      const count = routeJobs.reduce((sum, job) => sum + job.changes.length, 0);
      if (count > 0) metrics.changesRelayed.inc({ route: routeId }, count);
      this.sentWatermark.set(routeId, routeJobs[routeJobs.length - 1].watermark);
      this.heartbeatAt.set(routeId, now);
    }
    return jobs.length;
  }

  /** Invariant 3: saved after the jobs are in Redis; fenced by epoch so a deposed relay cannot write. */
  private async checkpoint(): Promise<void> {
    const state = {
      watermark: this.watermark,
      high: this.high,
      holes: this.tracker.holes.map(({ from, to, firstSeenAt }) => ({ from, to, firstSeenAt })),
    };
    // An idle relay polls several times a second: write only what changed.
    // (Leadership is still checked every cycle through the lease.)
    const fingerprint = JSON.stringify(state);
    if (fingerprint === this.savedState) return;
    const saved = await this.deps.progress.saveRelayState(this.deps.sourceId, this.epoch, state);
    if (!saved) throw new DeposedError('another relay took over (epoch moved)');
    this.savedState = fingerprint;
  }

  /** Every route's jobs are in Redis only; if they are gone, re-send from what the targets durably applied. */
  private async rewind(reason: string, level: 'info' | 'warn' = 'warn'): Promise<void> {
    const { progress, lossDetector, metrics, sourceId, logger } = this.deps;
    await this.refreshRoutes(true);
    const applied = await progress.listProgress(this.routes.map((route) => route.routeId));
    const floor = Math.min(this.watermark, ...applied.map((route) => route.watermark));
    logger[level]({ reason, from: floor, previousWatermark: this.watermark, previousHigh: this.high }, 'relay re-sends from the route checkpoints');
    await this.rereadFrom(floor);
    await lossDetector.mark(sourceId, this.epoch);
    metrics.redisRewinds.inc({ source: sourceId });
  }

  private async refreshRoutes(force = false): Promise<void> {
    const { catalog, sourceId, settings } = this.deps;
    if (!force && Date.now() - this.routesLoadedAt < settings.configRefreshMs) return;
    const routes: RouteRecord[] = await catalog.listRoutes({ sourceId });
    const feedKey = (route: { routeId: string; table: string }) => `${route.routeId}\u0000${route.table}`;
    const known = new Set(this.routes.map(feedKey));
    const firstLoad = this.routesLoadedAt === 0;
    // Paused routes are not fed: their queues would fill and stall every other
    // route of the source. A resumed route shows up as new and catches up from
    // its own checkpoint (the outbox keeps its rows: purge waits for it).
    this.allRouteIds = routes.map((route) => route.id);
    this.routes = routes
      .filter((route) => route.enabled)
      .map((route) => ({ routeId: route.id, table: route.table, echoOrigin: `tributary:${route.targetId}` }));
    this.routesLoadedAt = Date.now();
    const added = firstLoad ? [] : this.routes.filter((route) => !known.has(feedKey(route)));
    if (added.length > 0) await this.catchUp(added.map((route) => route.routeId));
  }

  /**
   * A route created or resumed while this relay leads starts at its own
   * checkpoint, but rows read since went out to the other routes only.
   * Re-read from the route's checkpoint so it gets them (invariant 2); the
   * other routes get those changes again and apply skips them (invariant 4).
   * Saved at once, so a relay that takes over re-reads too.
   */
  private async catchUp(routeIds: string[]): Promise<void> {
    const starts = await this.deps.progress.listProgress(routeIds);
    if (starts.length === 0) return;
    // Never above the watermark: every hole is above it, so re-reading from there finds them all again.
    const floor = Math.min(this.watermark, ...starts.map((start) => start.watermark));
    if (floor >= this.high) return;
    this.deps.logger.info({ routes: routeIds, from: floor, previousWatermark: this.watermark, previousHigh: this.high }, 'relay re-reads for routes that joined');
    await this.rereadFrom(floor);
  }

  /**
   * A route resumed while no relay led this source was never seen joining:
   * any fed route with an empty queue whose checkpoint is behind ours may
   * have missed changes. Re-reading for it is always safe, at worst redundant.
   */
  private async catchUpIdleRoutes(): Promise<void> {
    await this.refreshRoutes(true);
    const idle: string[] = [];
    for (const route of this.routes) {
      if ((await this.deps.queues.backlog(route.routeId)) === 0) idle.push(route.routeId);
    }
    if (idle.length > 0) await this.catchUp(idle);
  }

  /** Reads again from `floor` (at or below the watermark, so every hole is found again) and saves that at once. */
  private async rereadFrom(floor: number): Promise<void> {
    this.watermark = floor;
    this.high = floor;
    this.tracker = new HoleTracker([], { closeDelayMs: this.deps.settings.holeCloseDelayMs, timeoutMs: this.deps.settings.holeTimeoutMs });
    this.sentWatermark.clear();
    await this.checkpoint();
  }

  /** Invariant 7: the outbox is the buffer; stop reading while any route's queue is deep. */
  private async backlogged(): Promise<boolean> {
    for (const route of this.routes) {
      if ((await this.deps.queues.backlog(route.routeId)) >= this.deps.settings.maxQueueJobs) return true;
    }
    return false;
  }

  /** Deletes outbox rows every route has applied, older than the retention window, in small chunks. */
  private async purge(now: number): Promise<void> {
    const { progress, outbox, metrics, sourceId, settings } = this.deps;
    this.lastPurgeAt = now;
    const applied = await progress.listProgress(this.allRouteIds);
    const bound = Math.min(this.watermark, ...applied.map((route) => route.watermark));
    const beforeTs = (now - settings.retentionMs) * 1000;
    for (let chunk = 0; chunk < 20; chunk++) {
      const deleted = await outbox.purgeChunk(bound, beforeTs, settings.purgeChunkRows);
      if (deleted > 0) metrics.outboxPurged.inc({ source: sourceId }, deleted);
      if (deleted < settings.purgeChunkRows) break;
    }
  }
}

function splitAround<T extends Range>(range: T, remove: Set<number>): T[] {
  const inside = [...remove].filter((seq) => seq >= range.from && seq <= range.to).sort((a, b) => a - b);
  const pieces: T[] = [];
  let start = range.from;
  for (const seq of inside) {
    if (seq > start) pieces.push({ ...range, from: start, to: seq - 1 });
    start = seq + 1;
  }
  if (start <= range.to) pieces.push({ ...range, from: start, to: range.to });
  return pieces;
}

import { TributaryConfig } from '@tributary/config';
import { Logger } from '@tributary/logger';
import { CatalogRepository, isTransactional, ProgressRepository, RouteRecord, routeSelectorOf } from '@tributary/control';
import { Metrics } from '@tributary/metrics';
import { copyRouteOf, feedId, partitionsOf } from '@tributary/model';
import { OutboxHeader, OutboxRepository } from '@tributary/outbox';
import { LeaderLease, LeaseLoop } from '@tributary/runtime';
import { CONFIG_MARKER_TABLE } from '@tributary/db';
import { CHANGE_JOB_NAME, QueueRegistry, RedisLossDetector, transactionFeedId } from '@tributary/queue';
import { Hole, HoleTracker, parseHoles, Range } from './hole-tracker';
import { RouteFeed, runsOfRead } from './route-feed';
import { TransactionFeed } from './transaction-feed';

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
  /** Told when idle routes' progress moved (announceApplied: wakes read-your-writes waiters). */
  applied?(routeIds: string[], watermark: number): void;
}

/** Probes per cycle: enough for steady load; more holes wait for the next cycle. */
const PROBES_PER_CYCLE = 32;
/** How often the shared read position is saved at most (see Leadership.checkpoint). */
const CHECKPOINT_EVERY_MS = 200;
/** For this long after data last moved, an idle relay polls every pollMinMs before it backs off. */
const ACTIVE_WINDOW_MS = 1000;
/** How often a polling relay checks that it still leads and that Redis kept its data. */
const LIVENESS_CHECK_MS = 100;
/** How often, at most, copy records of an unknown route make the relay read the route list early (a deleted route's copies would otherwise ask every poll). */
const NEW_ROUTE_CHECK_MS = 250;
/**
 * How often the queue is asked about a route's job in flight that no worker
 * said is done: the signal may be lost (pub/sub), or come from no one (a
 * worker of a version without it).
 */
const UNSIGNALLED_CHECK_MS = 100;
/** Job ids said done before their job was known sent (a worker faster than queue.add's reply), kept this many. */
const EARLY_SIGNALS_KEPT = 1000;
/** Ids closed by timeout that are still watched for a late commit. */
const MAX_SUSPECTS = 10_000;

/** Thrown inside a cycle when this relay no longer leads; ends leadership quietly. */
class DeposedError extends Error {}

/**
 * The relay of one source: while it holds the leader lease it reads the
 * headers of committed outbox rows once for all routes (never skipping one,
 * invariant 2), keeps per route the seq ranges it owes, and hands each route
 * its ranges in one job whenever the route's queue has room (invariants 1, 7).
 * A route's durable position is its target's checkpoint; the relay rebuilds
 * what a route is owed from it whenever it starts leading or Redis lost data.
 */
export class SourceRelay {
  private readonly loop: LeaseLoop;
  private leadership: Leadership | null = null;

  constructor(private readonly deps: SourceRelayDeps) {
    this.loop = new LeaseLoop(
      deps.lease,
      deps.settings.leaderRetryMs,
      async () => {
        this.leadership = new Leadership(deps, () => this.loop.stopped, (ms) => this.loop.sleep(ms));
        deps.metrics.relayLeading.set({ source: deps.sourceId }, 1);
        try {
          await this.leadership.lead();
        } finally {
          this.leadership = null;
          deps.metrics.relayLeading.set({ source: deps.sourceId }, 0);
        }
      },
      (error) => deps.logger.error({ err: error }, 'relay cycle failed; retrying'),
    );
  }

  /** A worker finished a job of this source: if this relay leads, the job's route may get its next one now. */
  jobDone(jobId: string): void {
    if (this.leadership?.jobDone(jobId)) this.loop.nudge();
  }

  /** The configuration changed (announceConfigChange): the route list is read again at the next cycle, which comes now. */
  configChanged(): void {
    this.leadership?.configChanged();
    this.loop.nudge();
  }

  /** The source's leader let go (announceLeaseReleased): standing by, try to take the lead now. */
  leaderLeft(): void {
    this.loop.nudge();
  }

  /** Waits for leadership, leads until deposed or stopped, and waits again. */
  start(): void {
    this.deps.metrics.relayLeading.set({ source: this.deps.sourceId }, 0);
    this.loop.start();
  }

  /** Stops leading or standing by; the source's leadership gauge goes with it (a removed source must not alert). */
  async stop(): Promise<void> {
    await this.loop.stop();
    this.deps.metrics.relayLeading.remove({ source: this.deps.sourceId });
  }
}

/** One term as leader: state lives here and dies with the term. */
class Leadership {
  private epoch = 0;
  private watermark = 0;
  private high = 0;
  private tracker!: HoleTracker;
  private suspects: Array<Range & { closedAt: number }> = [];
  /** The fed (enabled) routes by feed id (a partitioned route has one feed per partition), each with its own pending ranges. */
  private readonly feeds = new Map<string, RouteFeed>();
  private feedsByTable = new Map<string, RouteFeed[]>();
  /** Every route of the source, fed or paused: the purge must wait for all of them. */
  private allRouteIds: string[] = [];
  /** allRouteIds as a set: every copy record a poll reads is looked up in it. */
  private knownRouteIds = new Set<string>();
  private routesLoadedAt = 0;
  private lastPurgeAt = 0;
  private lastCheckpointAt = 0;
  private checkedAt = 0;
  /** When a poll last moved data (see lead: the polling rhythm). */
  private movedAt = 0;
  private idleMs = 0;
  /** The last checkpoint written, to skip identical writes. */
  private savedState = '';
  /** The last poll read as much as it may (a backlog) or re-read rows for a route catching up: read on at once. */
  private readingAhead = false;
  /** Jobs said done that no feed had in flight yet (see EARLY_SIGNALS_KEPT). */
  private readonly earlySignals = new Set<string>();

  constructor(
    private readonly deps: SourceRelayDeps,
    private readonly stopped: () => boolean,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async lead(): Promise<void> {
    const { progress, sourceId, leaderId, logger, lossDetector, metrics, settings } = this.deps;
    const state = await progress.claimRelayState(sourceId, leaderId, 0);
    this.epoch = state.epoch;
    this.watermark = state.watermark;
    this.high = state.high;
    this.tracker = new HoleTracker(parseHoles(state.holes), {
      closeDelayMs: settings.holeCloseDelayMs,
      timeoutMs: settings.holeTimeoutMs,
    });
    logger.info({ epoch: this.epoch, watermark: this.watermark, high: this.high, holes: this.tracker.size() }, 'relay leads source');
    // Every route starts from what it durably applied (its feed's resetFrom), so whatever a
    // previous leader read but had not yet handed to a slow route is owed again.
    await this.refreshRoutes(true);
    await this.adoptUnfinishedJobs();
    if (!(await lossDetector.isMarked(sourceId))) {
      // Redis may have lost its data while no relay ran: the feeds already start from the checkpoints.
      logger.info('no marker in Redis at start (first start, or Redis lost its data); routes re-read from their checkpoints');
      await lossDetector.mark(sourceId, this.epoch);
      metrics.redisRewinds.inc({ source: sourceId });
    }

    while (!this.stopped()) {
      try {
        const moved = await this.cycle();
        const now = Date.now();
        if (moved) this.movedAt = now;
        // Polls at once while rows flow, every pollMinMs for a second after the last one (a steady
        // trickle arrives between polls, not after a long sleep), then backs off to pollMaxMs.
        const recent = now - this.movedAt < ACTIVE_WINDOW_MS;
        this.idleMs = moved ? 0 : recent ? settings.pollMinMs : Math.min(settings.pollMaxMs, Math.max(settings.pollMinMs, this.idleMs * 2));
        // Every route busy with a job and the head of the outbox reached: what arrives now can only go
        // out once a job is done, and a worker says when (jobDone cuts the sleep short). Polling on
        // would only read the same rows again and again.
        if (!this.readingAhead && this.everyRouteBusy()) await this.sleep(Math.max(this.idleMs, UNSIGNALLED_CHECK_MS));
        else if (this.idleMs > 0) await this.sleep(this.idleMs);
      } catch (error) {
        if (error instanceof DeposedError) {
          logger.warn({ epoch: this.epoch }, `relay stops leading: ${error.message}`);
          return;
        }
        throw error;
      }
    }
  }

  /** Every fed route has a job in flight (none could take another now). */
  private everyRouteBusy(): boolean {
    if (this.feeds.size === 0) return false;
    for (const feed of this.feeds.values()) if (feed.inFlight === null) return false;
    return true;
  }

  /** A worker said this job is done; true if it is a route's job in flight (the loop should look now). */
  jobDone(jobId: string): boolean {
    for (const feed of this.feeds.values()) {
      if (feed.inFlight === jobId) {
        feed.inFlightDone = true;
        return true;
      }
    }
    if (this.earlySignals.size >= EARLY_SIGNALS_KEPT) this.earlySignals.clear();
    this.earlySignals.add(jobId);
    return false;
  }

  /** The next cycle reads the route list, whenever it was read last. */
  configChanged(): void {
    this.routesLoadedAt = 0;
  }

  /** One poll. Returns true when it moved data, so the next poll comes at once. */
  private async cycle(): Promise<boolean> {
    const { outbox, lease, lossDetector, metrics, sourceId, settings } = this.deps;
    const endTimer = metrics.pollDuration.startTimer({ source: sourceId });
    const now = Date.now();
    // Leadership and Redis are asked about every LIVENESS_CHECK_MS, not every poll: a busy relay
    // polls hundreds of times a second. A deposed relay can at most add jobs a moment longer,
    // which apply skips (invariant 4); the fenced checkpoint refuses it at once.
    if (now - this.checkedAt >= LIVENESS_CHECK_MS) {
      if (!(await lease.isHeld())) throw new DeposedError('leader lock lost');
      if (!(await lossDetector.isMarked(sourceId))) await this.rewind('Redis marker vanished (restart without persistence or FLUSHALL)');
      this.checkedAt = now;
    }
    await this.refreshRoutes();

    // 1. Holes that filled since the last cycle (the common case: a slower commit), and
    // 2. new rows past the highest seq read: headers only (the workers read the images), one round trip.
    // Feeds that will have every row this read can see (not catching up; no hole given up on, whose
    // late commits another statement reads): if it sees everything, they are covered up to its start.
    const coverable = this.suspects.length === 0 ? [...this.feeds.values()].filter((feed) => feed.catchUp === null) : [];
    // Transaction feeds not catching up: this poll may show that what they are owed is whole transactions.
    const steady = [...this.feeds.values()].filter((feed): feed is TransactionFeed => feed instanceof TransactionFeed && feed.catchUp === null);
    // A transactional target's feed goes out only after a poll in one view: keep it one statement with many holes too.
    const oneView = steady.length > 0;
    const { filled, fresh, viewMicros } = await outbox.readHeadersPolled(this.high, settings.batchRows, this.tracker.ranges(), { oneView });
    // Copy records of a route this relay does not know: it was created a moment ago. Reading the
    // route list now, not at the next refresh, starts its initial copy's delivery seconds earlier.
    if (now - this.routesLoadedAt >= NEW_ROUTE_CHECK_MS && fresh.some((header) => this.isUnknownCopy(header.origin))) await this.refreshRoutes(true);
    // A table renamed since the route list was read (a configuration marker): its rows after the marker
    // carry the new name, which only the list as it is now routes. Read before anything is handed out.
    if (fresh.some(isConfigMarker) || filled.some(isConfigMarker)) await this.refreshRoutes(true);
    this.tracker.fill(filled.map((header) => header.seq));
    this.tracker.noteRead(this.high, fresh.map((header) => header.seq), now);
    if (fresh.length > 0) this.high = fresh[fresh.length - 1].seq;
    this.readingAhead = fresh.length >= settings.batchRows;

    // 3. Decide old holes exactly with locking probes.
    for (const hole of this.tracker.dueForProbe(now, PROBES_PER_CYCLE)) {
      const outcome = this.tracker.recordProbe(hole, await outbox.probe(hole.from, hole.to), Date.now());
      if (outcome === 'closed') {
        metrics.holesClosed.inc({ source: sourceId, how: 'exact' }, hole.to - hole.from + 1);
        for (const feed of this.feeds.values()) feed.closeGap(hole.from, hole.to);
        this.deps.logger.debug({ from: hole.from, to: hole.to }, 'hole closed: its transaction rolled back');
      }
    }
    // 4. The last resort, and a watch for commits that arrive after it.
    this.expireHoles(now);
    const late = await this.lateCommits(now);
    if (late.some(isConfigMarker)) await this.refreshRoutes(true);

    this.feedFresh(fresh);
    this.feedSingles([...filled, ...late]);
    if (viewMicros !== null && fresh.length < settings.batchRows) {
      // (A feed the route refresh just reset is catching up again: it waits for a read of its own.)
      for (const feed of coverable) if (feed.catchUp === null) feed.coveredMicros = Math.max(feed.coveredMicros ?? 0, viewMicros);
    }
    // Complete: one read view saw every row committed before it (short of its limit), and no row came
    // from another statement (late commits). Then a steady transaction feed holds whole transactions only.
    const complete = viewMicros !== null && fresh.length < settings.batchRows && late.length === 0;
    for (const feed of this.feeds.values()) if (feed instanceof TransactionFeed) feed.sealed = complete && steady.includes(feed) && feed.catchUp === null;
    const caughtUp = await this.catchUpStep();
    if (caughtUp) this.readingAhead = true;
    countCaptured(metrics, sourceId, [fresh, filled, late]);
    const watermarkBefore = this.watermark;
    this.watermark = Math.max(this.watermark, this.tracker.watermark(this.high));
    const sent = await this.dispatch(now);
    await this.checkpoint(now);
    metrics.openHoles.set({ source: sourceId }, this.tracker.size());
    metrics.relayPosition.set({ source: sourceId, kind: 'high' }, this.high);
    metrics.relayPosition.set({ source: sourceId, kind: 'watermark' }, this.watermark);
    if (now - this.lastPurgeAt >= settings.purgeIntervalMs) {
      // The purge is housekeeping: its failure is logged, never a reason to stop relaying.
      await this.purge(now).catch((error) => this.deps.logger.error({ err: error }, 'outbox purge failed; will retry'));
    }
    endTimer();
    return fresh.length > 0 || filled.length > 0 || late.length > 0 || caughtUp || sent > 0 || this.watermark !== watermarkBefore;
  }

  /**
   * One read of headers for the routes that are owed again (RouteFeed.resetFrom),
   * from the lowest seq any of them needs: one scan shared by all of them, each
   * taking its own runs. Returns true if it read anything.
   */
  private async catchUpStep(): Promise<boolean> {
    const catching = [...this.feeds.values()].filter((feed) => feed.catchUp !== null);
    if (catching.length === 0) return false;
    const from = Math.min(...catching.map((feed) => feed.catchUp!.next));
    const until = Math.max(...catching.map((feed) => feed.catchUp!.until));
    const limit = this.deps.settings.batchRows;
    const headers = await this.deps.outbox.readHeadersBetween(from, until, limit);
    // A short read covers everything up to `until`; a full one up to its last row.
    const readTo = headers.length === limit ? headers[headers.length - 1].seq : until;
    // Ids inside open holes are not there yet: they reach every route that wants them when they fill.
    const byTable = groupByTable(catching);
    const runs = runsOfRead(headers, (table) => byTable.get(table), (feed, seq) => feed.catchesUp(seq));
    for (const feed of catching) feed.caughtUpTo(readTo, runs.get(feed) ?? []);
    return true;
  }

  /** A contiguous read: each route gets its runs (never spanning a hole), in one pass over the read. */
  private feedFresh(headers: readonly OutboxHeader[]): void {
    for (const [feed, runs] of runsOfRead(headers, (table) => this.feedsByTable.get(table))) {
      for (const run of runs) feed.add(run, run.changes);
    }
  }

  /** Rows found inside holes: each one is owed to the routes that want it. */
  private feedSingles(headers: readonly OutboxHeader[]): void {
    for (const header of headers) {
      for (const feed of this.feedsByTable.get(header.table) ?? []) {
        if (feed.wants(header)) feed.add({ from: header.seq, to: header.seq }, 1);
      }
    }
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
  private async lateCommits(now: number): Promise<OutboxHeader[]> {
    if (this.suspects.length === 0) return [];
    const late = await this.deps.outbox.readHeaderRanges(this.suspects);
    if (late.length === 0) return [];
    const seqs = new Set(late.map((header) => header.seq));
    this.suspects = this.suspects.flatMap((suspect) => splitAround(suspect, seqs));
    this.deps.metrics.lateCommits.inc({ source: this.deps.sourceId }, late.length);
    for (const header of late) {
      this.deps.logger.error({ seq: header.seq, table: header.table, at: now }, 'late commit inside a hole closed by timeout; delivered now');
    }
    return late;
  }

  /**
   * Hands each route what it is owed, in one job, once its previous job is
   * done (invariant 7: the outbox is the buffer). The source's routes share
   * one queue, so one unfinished job per route is also what keeps each
   * route's jobs in order. A route whose job is unfinished — its target
   * slow, down or paused — keeps its ranges and holds back no other route;
   * by the time its job is done they have grown into one larger job: group
   * commit instead of queue depth. Routes with nothing owed are moved on
   * without a job (advanceIdle).
   */
  private async dispatch(now: number): Promise<number> {
    const { queues, metrics, settings, sourceId, lossDetector } = this.deps;
    // Jobs in flight that a worker said are done, and now and then the others: one round trip for all.
    const asked = [...this.feeds.values()].filter(
      (feed) => feed.inFlight !== null && (feed.inFlightDone || now - feed.inFlightCheckedAt >= UNSIGNALLED_CHECK_MS),
    );
    if (asked.length > 0) {
      const unfinished = await queues.unfinished(sourceId, asked.map((feed) => feed.inFlight!));
      // A job Redis no longer has may have been applied (and trimmed), or lost with Redis's data. Lost,
      // the route's next job must start from its applied checkpoint, not after the lost one's ranges:
      // a job after them would move the checkpoint past rows nobody applied. The marker tells (it goes
      // with the data), so it is checked before any route gets a job in place of a finished one.
      if (unfinished.some((still) => !still) && !(await lossDetector.isMarked(sourceId))) {
        await this.rewind('Redis marker vanished (restart without persistence or FLUSHALL)');
        return 0;
      }
      asked.forEach((feed, i) => {
        feed.inFlightDone = false;
        feed.inFlightCheckedAt = now;
        if (!unfinished[i]) feed.inFlight = null;
      });
    }
    const owed: RouteFeed[] = [];
    const idle: RouteFeed[] = [];
    for (const feed of this.feeds.values()) {
      if (feed.hasPending()) {
        // A transaction feed's rows wait for a read that shows them whole (TransactionFeed.sealed).
        if (feed.mayTake) owed.push(feed);
      }
      else if (feed.catchUp === null && (this.watermark > feed.sentWatermark || (feed.coveredMicros ?? 0) > feed.sentCoveredMicros) && now - feed.lastSentAt >= settings.heartbeatMs) {
        // Moved on even when only its coverage did: a transaction held open elsewhere holds back the
        // watermark, and a writer waiting on this route must not wait for it (read-your-writes).
        idle.push(feed);
      }
    }
    if (owed.length === 0 && idle.length === 0) return 0;
    const ready = owed.filter((feed) => feed.inFlight === null);
    const drained = idle.filter((feed) => feed.inFlight === null);
    const queue = queues.queueFor(sourceId);
    await Promise.all(
      ready.map(async (feed) => {
        const ranges = [...feed.ranges()];
        const changes = feed.owedChanges;
        const watermark = feed.jobWatermark(this.watermark);
        // The job holds everything the feed is owed: with it, all the feed's rows its coverage promises.
        const covered = feed.catchUp === null ? feed.coveredMicros : null;
        const { data, id: jobId } = feed.jobFor(sourceId, ranges, watermark, covered);
        await queue.add(CHANGE_JOB_NAME, data, { jobId });
        // Taken only once the job is in Redis: a failed add leaves the ranges owed.
        feed.take();
        feed.inFlight = jobId;
        feed.inFlightCheckedAt = now;
        feed.inFlightDone = this.earlySignals.delete(jobId);
        feed.sentWatermark = watermark;
        feed.sentCoveredMicros = covered ?? feed.sentCoveredMicros;
        feed.lastSentAt = now;
        // Every partition of a route is given the same ranges: they are counted once.
        if (changes > 0 && (feed.partition?.index ?? 0) === 0) metrics.changesRelayed.inc({ route: feed.routeId }, changes);
      }),
    );
    await this.advanceIdle(drained, now);
    for (const feed of idle) feed.lastSentAt = now;
    return ready.length;
  }

  /**
   * A new leader adopts the range jobs a previous one left unfinished, so a
   * route does not get a second job beside one still queued. (Were it to, no
   * harm: the feeds start over from each route's applied checkpoint, so the
   * new job covers the old one's rows, and apply is guarded per row.)
   */
  private async adoptUnfinishedJobs(): Promise<void> {
    for (const job of await this.deps.queues.unfinishedJobs(this.deps.sourceId)) {
      if (job.data.v !== 2 || (job.data.kind !== 'range' && job.data.kind !== 'transaction')) continue;
      const id = job.data.kind === 'range' ? feedId(job.data.routeId, job.data.partition) : transactionFeedId(job.data.targetId);
      const feed = this.feeds.get(id);
      if (feed) feed.inFlight = job.id;
    }
  }

  /**
   * Routes with nothing owed and no unfinished job have applied every change of
   * theirs at or below the relay's watermark: every one was in a job, and
   * every job is done. Their progress moves there in one statement, so the
   * purge and a restart need not wait for them, and an idle route costs no
   * job and no target transaction. (The target's own checkpoint stays where
   * their last change left it; the worker only uses it as a floor.)
   */
  private async advanceIdle(feeds: RouteFeed[], now: number): Promise<void> {
    if (feeds.length === 0) return;
    const feedIds = feeds.flatMap((feed) => feed.progressIds);
    // Nothing owed, no job unfinished: each has applied every row of its coverage too.
    const byCoverage = new Map<number | null, string[]>();
    for (const feed of feeds) byCoverage.set(feed.coveredMicros, [...(byCoverage.get(feed.coveredMicros) ?? []), ...feed.progressIds]);
    for (const [covered, ids] of byCoverage) await this.deps.progress.advanceIdleRoutes(ids, this.watermark, covered);
    this.deps.applied?.(feedIds, this.watermark);
    for (const feed of feeds) {
      feed.sentWatermark = this.watermark;
      feed.sentCoveredMicros = feed.coveredMicros ?? feed.sentCoveredMicros;
      feed.lastSentAt = now;
    }
  }

  /**
   * Saves the shared read position (watermark, high, holes), fenced by epoch
   * so a deposed relay cannot write. What each route is owed is not in it:
   * a new leader rebuilds that from the routes' applied checkpoints, so this
   * may lag the truth by a moment (a re-read is harmless, invariant 4) and is
   * written at most every CHECKPOINT_EVERY_MS.
   */
  private async checkpoint(now: number): Promise<void> {
    if (now - this.lastCheckpointAt < CHECKPOINT_EVERY_MS) return;
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
    this.lastCheckpointAt = now;
  }

  /** Every route's jobs are in Redis only; if they are gone, each route starts again from what its target durably applied. */
  private async rewind(reason: string): Promise<void> {
    const { lossDetector, metrics, sourceId, logger } = this.deps;
    logger.warn({ reason, watermark: this.watermark, high: this.high }, 'routes re-read from their checkpoints');
    await this.resetFeeds([...this.feeds.values()]);
    await lossDetector.mark(sourceId, this.epoch);
    metrics.redisRewinds.inc({ source: sourceId });
  }

  private isUnknownCopy(origin: string | null): boolean {
    const routeId = copyRouteOf(origin);
    return routeId !== null && !this.knownRouteIds.has(routeId);
  }

  /**
   * Follows the route list. A route that appears (created, resumed, or every
   * route when this relay starts leading) starts from its own applied
   * checkpoint; the others are not touched. Paused routes are not fed: their
   * rows wait in the outbox (the purge waits for them) and they catch up on resume.
   */
  private async refreshRoutes(force = false): Promise<void> {
    const { catalog, sourceId, settings } = this.deps;
    if (!force && Date.now() - this.routesLoadedAt < settings.configRefreshMs) return;
    const [routes, targets] = await Promise.all([catalog.listRoutes({ sourceId }), catalog.listTargets()]);
    this.allRouteIds = routes.map((route) => route.id);
    this.knownRouteIds = new Set(this.allRouteIds);
    const wanted = new Map<string, RouteFeed>();
    const transactional = new Set(targets.filter(isTransactional).map((target) => target.id));
    // A transactional target's routes (setup keeps them unpartitioned) are one feed: whole source transactions.
    const together = new Map<string, RouteRecord[]>();
    for (const route of routes.filter((r) => r.enabled)) {
      if (transactional.has(route.targetId) && (route.partitions ?? 1) <= 1) {
        together.set(route.targetId, [...(together.get(route.targetId) ?? []), route]);
        continue;
      }
      const selector = routeSelectorOf(route);
      for (const partition of partitionsOf(route.partitions ?? 1)) {
        const feed = new RouteFeed(selector, partition);
        wanted.set(feed.id, feed);
      }
    }
    for (const [targetId, members] of together) {
      const feed = new TransactionFeed(targetId, members.sort((a, b) => (a.id < b.id ? -1 : 1)).map(routeSelectorOf));
      wanted.set(feed.id, feed);
    }
    const joined: RouteFeed[] = [];
    for (const [id, feed] of this.feeds) {
      const want = wanted.get(id);
      if (!want || want.signature() !== feed.signature()) this.feeds.delete(id);
    }
    for (const [id, feed] of wanted) {
      if (this.feeds.has(id)) continue;
      this.feeds.set(id, feed);
      joined.push(feed);
    }
    this.feedsByTable = groupByTable([...this.feeds.values()]);
    this.routesLoadedAt = Date.now();
    if (joined.length > 0) await this.resetFeeds(joined);
  }

  /** Each feed owes again everything above its applied watermark (a feed without progress starts at the relay's). */
  private async resetFeeds(feeds: RouteFeed[]): Promise<void> {
    if (feeds.length === 0) return;
    const applied = await this.deps.progress.feedWatermarks(feeds.flatMap((feed) => feed.progressIds));
    // A transaction feed starts where its furthest-behind route is (the others skip what they have at apply).
    for (const feed of feeds) feed.resetFrom(Math.min(...feed.progressIds.map((id) => applied.get(id) ?? this.watermark)), this.high);
    this.deps.logger.debug({ feeds: feeds.map((feed) => feed.id), high: this.high }, 'routes start from their applied checkpoints');
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

function isConfigMarker(header: OutboxHeader): boolean {
  return header.table === CONFIG_MARKER_TABLE;
}

function groupByTable(feeds: readonly RouteFeed[]): Map<string, RouteFeed[]> {
  const byTable = new Map<string, RouteFeed[]>();
  for (const feed of feeds) {
    for (const table of feed.tables) {
      const same = byTable.get(table);
      if (same) same.push(feed);
      else byTable.set(table, [feed]);
    }
  }
  return byTable;
}


/** Counted per table and read, not per row: a busy relay reads thousands of rows a cycle. */
function countCaptured(metrics: Metrics, sourceId: string, reads: ReadonlyArray<readonly OutboxHeader[]>): void {
  const perTable = new Map<string, number>();
  for (const read of reads) for (const header of read) if (!isConfigMarker(header)) perTable.set(header.table, (perTable.get(header.table) ?? 0) + 1);
  for (const [table, count] of perTable) metrics.changesCaptured.inc({ source: sourceId, table }, count);
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

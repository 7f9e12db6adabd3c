import { Knex } from 'knex';
import { CatalogRepository, ProgressRepository, RouteRecord, SnapshotReason, SnapshotRecord, SnapshotRepository } from '@tributary/control';
import { Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { TableSchema } from '@tributary/model';
import { OutboxRepository } from '@tributary/outbox';
import { LeaderLease, LeaseLoop } from '@tributary/runtime';
import { compileFilter, FilterError, filterToMysql } from '@tributary/replication';
import { CopyContendedError, SourceCopier } from './copier';
import { decodeKeyText, encodeKey } from './key-sql';
import { progressLine } from './progress';
import { RowCondition, SourceTable } from './source-table';

export interface SnapshotRunnerDeps {
  sourceId: string;
  /** The source database (openMysql: READ COMMITTED, UTC). */
  source: Knex;
  outbox: OutboxRepository;
  /** One copier per source at a time, across all relay processes. */
  lease: LeaderLease;
  catalog: CatalogRepository;
  snapshots: SnapshotRepository;
  progress: ProgressRepository;
  metrics: Metrics;
  logger: Logger;
  settings: { chunkRows: number; maxInFlightRows: number; pollMs: number; leaderRetryMs: number };
}

/** A copy that cannot go on until someone changes the route (it is marked failed with this). */
class SnapshotConfigError extends Error {}

/** What the copier keeps in memory per running snapshot (lost on restart, rebuilt as it goes). */
interface CopyState {
  chunkRows: number;
  /** Copy records written this term and not yet known applied, by highest seq: the in-flight bound. */
  inFlight: Array<{ lastSeq: number; rows: number }>;
  loggedAt: number;
  failures: number;
  retryAt: number;
}

const MIN_CHUNK_ROWS = 50;
const ACTIVE_POLL_MS = 100;
/** With no copy under way: how soon a new request is noticed (three small reads of the control schema a poll). */
const IDLE_POLL_MS = 500;
const PROGRESS_LOG_MS = 5000;

/**
 * Runs the initial copies and re-syncs of one source's routes: pending ones
 * are started, copying ones advance chunk by chunk from their durable cursor
 * (a copier that dies resumes after the last chunk it recorded; a chunk
 * copied twice is harmless, the target's seq guard keeps the newer row), and
 * a copied one is done once its route applied every record up to the outbox
 * position taken when copying ended.
 */
export class SnapshotRunner {
  private readonly loop: LeaseLoop;
  private readonly states = new Map<string, CopyState>();
  private readonly schemas = new Map<string, TableSchema>();

  constructor(private readonly deps: SnapshotRunnerDeps) {
    this.loop = new LeaseLoop(deps.lease, deps.settings.leaderRetryMs, () => this.lead(), (error) =>
      deps.logger.error({ err: error }, 'snapshot copier failed; retrying'),
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Something to do may have come (a copy requested, a route changed): look now, not at the next poll. */
  wake(): void {
    this.loop.nudge();
  }

  /**
   * A job of this source was applied: a copy held back by its in-flight
   * bound may go on, one catching up may be done. Ignored with no copy under
   * way, so a busy source's jobs cost the copier nothing.
   */
  jobDone(): void {
    if (this.states.size > 0) this.loop.nudge();
  }

  private async lead(): Promise<void> {
    const { catalog, snapshots, sourceId, lease, settings } = this.deps;
    this.states.clear();
    while (!this.loop.stopped) {
      if (!(await lease.isHeld())) return;
      const routes = await catalog.listRoutes({ sourceId });
      const active = await snapshots.listActive(routes.map((route) => route.id));
      // A copy that ended (cancelled, failed, replaced) leaves no backoff or pacing behind for the next one of its route.
      for (const routeId of this.states.keys()) if (!active.some((snapshot) => snapshot.routeId === routeId)) this.states.delete(routeId);
      let worked = false;
      for (const snapshot of active) {
        const route = routes.find((r) => r.id === snapshot.routeId);
        if (route && !this.loop.stopped) worked = (await this.step(snapshot, route)) || worked;
      }
      // With copies under way, look again soon (a copy waiting on its route is done the moment the route catches up);
      // with none, often enough that a new request starts within half a second.
      if (!worked) await this.loop.sleep(Math.min(settings.pollMs, active.length > 0 ? ACTIVE_POLL_MS : IDLE_POLL_MS));
    }
  }

  /** One unit of work on one snapshot; true if it got anywhere (so the loop does not sleep). */
  private async step(snapshot: SnapshotRecord, route: RouteRecord): Promise<boolean> {
    const state = this.stateOf(route.id);
    if (Date.now() < state.retryAt) return false;
    try {
      let worked: boolean;
      if (snapshot.status === 'pending') worked = await this.begin(route);
      else if (snapshot.status === 'copying') worked = await this.copyChunk(snapshot, route, state);
      else worked = await this.catchUp(snapshot);
      state.failures = 0;
      return worked;
    } catch (error) {
      return this.handleFailure(route, state, error);
    }
  }

  private async begin(route: RouteRecord): Promise<boolean> {
    const schema = await this.schemaOf(route);
    conditionFor(route, schema, 'initial'); // a filter that no longer fits fails the snapshot before any row is copied
    const estimate = await new SourceTable(schema).estimateRows(this.deps.source);
    await this.deps.snapshots.start(route.id, estimate);
    this.deps.metrics.snapshotProgress.set({ route: route.id }, 0);
    this.deps.logger.info({ route: route.id, table: route.table, estimatedRows: estimate }, 'initial copy starts');
    return true;
  }

  private async copyChunk(snapshot: SnapshotRecord, route: RouteRecord, state: CopyState): Promise<boolean> {
    const { snapshots, metrics, logger, settings } = this.deps;
    if (await this.tooFarAhead(route.id, state)) return false;
    const schema = await this.schemaOf(route);
    const copier = new SourceCopier(this.deps.source, route.id);
    const after = snapshot.cursor ? decodeKeyText(snapshot.cursor) : null;
    const chunk = await copier.copyChunk(schema, after, state.chunkRows, conditionFor(route, schema, snapshot.reason));
    const recorded = await snapshots.recordChunk(route.id, {
      cursor: chunk.next ? encodeKey(chunk.next) : snapshot.cursor,
      copied: chunk.copied,
      lastSeq: chunk.lastSeq,
    });
    if (!recorded) return true; // cancelled or replaced meanwhile: the next listing shows what to do
    if (chunk.lastSeq !== null) state.inFlight.push({ lastSeq: chunk.lastSeq, rows: chunk.copied });
    metrics.snapshotRowsCopied.inc({ route: route.id }, chunk.copied);
    state.chunkRows = Math.min(settings.chunkRows, Math.ceil(state.chunkRows * 1.5));
    const copied = snapshot.rowsCopied + chunk.copied;
    const estimate = Math.max(snapshot.rowsEstimated ?? 0, copied);
    metrics.snapshotProgress.set({ route: route.id }, chunk.next ? (estimate > 0 ? copied / estimate : 0) : 1);
    if (chunk.next === null) {
      // Every copy record is below this position: once the route applied it, the target holds every row.
      const finalSeq = await this.deps.outbox.maxSeq();
      await snapshots.finishCopying(route.id, finalSeq);
      logger.info({ route: route.id, rows: copied, chunks: snapshot.chunks + 1, finalSeq }, 'initial copy: every row copied; catching up');
    } else if (Date.now() - state.loggedAt >= PROGRESS_LOG_MS) {
      state.loggedAt = Date.now();
      logger.info({ route: route.id, rows: copied, estimatedRows: estimate }, progressLine({ ...snapshot, rowsCopied: copied, rowsEstimated: estimate }));
    }
    return true;
  }

  private async catchUp(snapshot: SnapshotRecord): Promise<boolean> {
    const [progress] = await this.deps.progress.listProgress([snapshot.routeId]);
    if (!progress || snapshot.finalSeq === null || progress.watermark < snapshot.finalSeq) return false;
    if (await this.deps.snapshots.finish(snapshot.routeId)) {
      this.deps.logger.info({ route: snapshot.routeId, rows: snapshot.rowsCopied }, 'initial copy done: the target holds every row');
      this.states.delete(snapshot.routeId);
    }
    return true;
  }

  /**
   * Copy records wait in the outbox like any change; the
   * copier stays at most maxInFlightRows ahead of what the route applied, so
   * a slow or paused target holds the copy back instead of the outbox growing.
   */
  private async tooFarAhead(routeId: string, state: CopyState): Promise<boolean> {
    if (state.inFlight.length === 0) return false;
    const [progress] = await this.deps.progress.listProgress([routeId]);
    const applied = progress?.watermark ?? 0;
    state.inFlight = state.inFlight.filter((chunk) => chunk.lastSeq > applied);
    return state.inFlight.reduce((sum, chunk) => sum + chunk.rows, 0) >= this.deps.settings.maxInFlightRows;
  }

  private async handleFailure(route: RouteRecord, state: CopyState, error: unknown): Promise<boolean> {
    const { snapshots, metrics, logger } = this.deps;
    const message = (error as Error).message ?? String(error);
    if (error instanceof SnapshotConfigError) {
      logger.error({ route: route.id, reason: message }, 'initial copy failed');
      await snapshots.fail(route.id, message);
      return true;
    }
    state.failures++;
    metrics.snapshotChunkRetries.inc({ route: route.id });
    // Rows held by application transactions: smaller chunks lock fewer rows and give way sooner.
    if (error instanceof CopyContendedError) state.chunkRows = Math.max(MIN_CHUNK_ROWS, Math.floor(state.chunkRows / 2));
    state.retryAt = Date.now() + Math.min(30_000, 100 * 2 ** Math.min(state.failures, 8));
    logger.warn({ route: route.id, err: error, chunkRows: state.chunkRows, failures: state.failures }, 'initial copy chunk failed; will retry');
    await snapshots.recordError(route.id, message).catch(() => undefined);
    return false;
  }

  /** The table as captured now (a copy after an ALTER writes images of the new shape, like the triggers). */
  private async schemaOf(route: RouteRecord): Promise<TableSchema> {
    const { catalog, sourceId } = this.deps;
    const captured = await catalog.getCapturedTable(sourceId, route.table);
    if (!captured) throw new SnapshotConfigError(`table ${route.table} is not captured on source ${sourceId}`);
    const key = `${route.table}\0${captured.schemaHash}`;
    let schema = this.schemas.get(key);
    if (!schema) {
      const loaded = await catalog.getSchema(sourceId, route.table, captured.schemaHash);
      if (!loaded) throw new SnapshotConfigError(`schema ${captured.schemaHash} of ${route.table} is missing from the catalog`);
      schema = loaded;
      this.schemas.set(key, schema);
    }
    return schema;
  }

  private stateOf(routeId: string): CopyState {
    let state = this.states.get(routeId);
    if (!state) {
      state = { chunkRows: this.deps.settings.chunkRows, inFlight: [], loggedAt: 0, failures: 0, retryAt: 0 };
      this.states.set(routeId, state);
    }
    return state;
  }
}

/**
 * What of the table a copy reads. An initial copy fills a new target, so
 * the route's filter is pushed down to the source as far as it translates
 * exactly or as a superset (the worker applies the filter to every copy
 * record again). A re-sync reads every row: a row the filter no longer
 * keeps must be met to be deleted at the target (a copy record that does
 * not match becomes a delete).
 */
function conditionFor(route: RouteRecord, schema: TableSchema, reason: SnapshotReason): RowCondition {
  if (!route.filter) return null;
  try {
    // filterToMysql checks the filter as compileFilter does; a re-sync only needs the check.
    if (reason === 'initial') return filterToMysql(route.filter, schema.columns, 'src');
    compileFilter(route.filter, schema.columns);
    return null;
  } catch (error) {
    if (error instanceof FilterError) {
      throw new SnapshotConfigError(`the route's filter does not fit table ${route.table} as captured: ${error.message}`);
    }
    throw error;
  }
}

import { Injectable, NotFoundException } from '@nestjs/common';
import {
  CatalogRepository,
  ConflictRepository,
  DeadLetterRepository,
  ProgressRepository,
  RouteProgressRecord,
  RouteRecord,
  routeSelectorOf,
  SnapshotRecord,
  SnapshotRepository,
  SourceRecord,
} from '@tributary/control';
import { partitionOfFeed } from '@tributary/model';
import { SnapshotDto } from '../api/snapshot.dto';
import { RouteLagDto, RouteStatusDto } from './dto/route-status.dto';
import { routeState } from './route-state';
import { SourceOutboxRepository } from './source-outbox.repository';
import { ThroughputTracker } from './throughput';

/**
 * Per-route status (invariant 9): position and errors from the control
 * schema, lag from the source outbox, throughput from in-memory samples of
 * the applied counter (taken on every read and by the StatusSampler timer).
 */
@Injectable()
export class StatusService {
  private readonly throughput = new ThroughputTracker();

  constructor(
    private readonly catalog: CatalogRepository,
    private readonly progress: ProgressRepository,
    private readonly deadLetters: DeadLetterRepository,
    private readonly snapshots: SnapshotRepository,
    private readonly outboxes: SourceOutboxRepository,
    private readonly conflicts: ConflictRepository,
  ) {}

  async all(): Promise<RouteStatusDto[]> {
    const [routes, sources, progress, letters, snapshots, conflicts, tables] = await Promise.all([
      this.catalog.listRoutes(),
      this.catalog.listSources(),
      this.progress.listProgress(),
      this.deadLetters.countUnresolved(),
      this.snapshots.list(),
      this.conflicts.countOpen(),
      this.catalog.listCapturedTables(),
    ]);
    const rebuiltAt = new Map(tables.map((table) => [`${table.sourceId}\0${table.table}`, table.rebuiltAt ?? null]));
    const snapshotById = new Map(snapshots.map((snapshot) => [snapshot.routeId, snapshot]));
    this.throughput.retain(new Set(routes.map((route) => route.id)));
    await this.outboxes.retain(new Set(sources.map((source) => source.id)));
    const sourceById = new Map(sources.map((source) => [source.id, source]));
    const progressById = new Map(progress.map((entry) => [entry.routeId, entry]));
    return Promise.all(
      routes.map((route) =>
        this.build(
          route,
          sourceById.get(route.sourceId),
          progressById.get(route.id),
          letters.get(route.id),
          snapshotById.get(route.id),
          conflicts.get(route.id),
          rebuiltAt.get(`${route.sourceId}\0${route.table}`) ?? null,
        ),
      ),
    );
  }

  /** @throws NotFoundException for an unknown route. */
  async one(routeId: string): Promise<RouteStatusDto> {
    const route = await this.catalog.getRoute(routeId);
    if (!route) throw new NotFoundException(`route ${routeId} does not exist`);
    const [source, [progress], letters, snapshot, conflicts, table] = await Promise.all([
      this.catalog.getSource(route.sourceId),
      this.progress.listProgress([route.id]),
      this.deadLetters.countUnresolved(),
      this.snapshots.get(route.id),
      this.conflicts.countOpen([route.id]),
      this.catalog.getCapturedTable(route.sourceId, route.table),
    ]);
    return this.build(route, source ?? undefined, progress, letters.get(route.id), snapshot ?? undefined, conflicts.get(route.id), table?.rebuiltAt ?? null);
  }

  private async build(
    route: RouteRecord,
    source: SourceRecord | undefined,
    progress: RouteProgressRecord | undefined,
    letters: { open: number; retrying: number } | undefined,
    snapshot: SnapshotRecord | undefined,
    openConflicts: number | undefined,
    tableRebuiltAt: Date | null,
  ): Promise<RouteStatusDto> {
    const appliedTotal = progress?.appliedTotal ?? 0;
    const now = Date.now();
    this.throughput.record(route.id, appliedTotal, now);
    const lag = await this.lag(route, source, progress?.watermark ?? 0);
    const { state, reason } = routeState({ enabled: route.enabled, progress, lagSeconds: lag.seconds, sourceError: lag.error, now });
    return {
      route: route.id,
      source: route.sourceId,
      table: route.table,
      target: route.targetId,
      targetTable: route.targetTable,
      state,
      stateReason: reason,
      lastError: progress?.lastError ?? null,
      lastErrorAt: progress?.lastErrorAt?.toISOString() ?? null,
      lastAppliedAt: progress?.lastAppliedAt?.toISOString() ?? null,
      lastAppliedSeq: progress?.maxSeq ?? 0,
      watermark: progress?.watermark ?? 0,
      appliedTotal,
      lag,
      throughput: this.throughput.rate(route.id),
      deadLetters: { open: letters?.open ?? 0, retrying: letters?.retrying ?? 0 },
      snapshot: snapshot ? SnapshotDto.from(snapshot) : null,
      conflicts: { open: openConflicts ?? 0 },
      tableRebuiltAt: tableRebuiltAt?.toISOString() ?? null,
      partitions:
        progress?.partitions?.map((feed) => ({
          index: partitionOfFeed(feed.routeId)?.index ?? 0,
          feed: feed.routeId,
          watermark: feed.watermark,
          appliedTotal: feed.appliedTotal,
          lastAppliedAt: feed.lastAppliedAt?.toISOString() ?? null,
          lastError: feed.lastError,
        })) ?? null,
    };
  }

  private async lag(route: RouteRecord, source: SourceRecord | undefined, watermark: number): Promise<RouteLagDto> {
    if (!source) return { changes: null, seconds: null, capped: false, error: `source ${route.sourceId} does not exist` };
    try {
      // Only the route's own rows count: never its target's echoes (invariant 6), nor, for a local-only route, what Tributary applied.
      const backlog = await this.outboxes.backlog(source, { ...routeSelectorOf(route), watermark });
      return { ...backlog, error: null };
    } catch (error) {
      // Driver messages name host and port, never the password (invariant 10).
      return { changes: null, seconds: null, capped: false, error: `cannot read the source outbox: ${(error as Error).message}` };
    }
  }
}

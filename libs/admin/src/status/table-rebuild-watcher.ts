import { BeforeApplicationShutdown, ConflictException, Inject, Injectable, NotFoundException, OnApplicationBootstrap } from '@nestjs/common';
import { TableIdsUnreadableError } from '@tributary/capture';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { CapturedTableRecord, CatalogRepository, SourceRecord, VerifyRunRecord, VerifyRunRepository } from '@tributary/control';
import { LOGGER, Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { PeriodicTask } from '@tributary/runtime';
import { VerifyService } from '../api/verify.service';
import { SourceOutboxRepository } from './source-outbox.repository';

/** Who the repair runs it starts name as having asked (GET /api/routes/{id}/verify-runs). */
export const REBUILD_REPAIR_ACTOR = 'tributary: source table truncated or rebuilt';
/** A repair that failed is started again after this long. */
const FAILED_REPAIR_RETRY_MS = 60_000;

/**
 * TRUNCATE TABLE fires no trigger, so the outbox never hears of it and the
 * targets keep every row (issue #17). It does give the table a new InnoDB id,
 * as any rebuild does (OPTIMIZE TABLE, a copying ALTER). On a timer this
 * compares each captured table's id with the one last recorded; a new id is
 * logged, counted (tributary_source_table_rebuilds_total) and recorded
 * (`rebuilt_at`, shown by route status), and every route of the table gets a
 * repair run: verify finds what the targets hold that the source no longer
 * has (or lacks) and re-sends it through the route. A rebuild that kept its
 * rows costs one verify. The record is durable, so a change seen just before
 * a restart, or a repair that failed, is repaired at a later look; of several
 * admins, the one that records the change acts on it.
 */
@Injectable()
export class TableRebuildWatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly task = new PeriodicTask(
    () => this.look(),
    (error) => this.logger.error({ err: error }, 'looking for truncated or rebuilt source tables failed; will retry'),
  );
  /** Sources whose table ids cannot be read, said once each. */
  private readonly unreadable = new Set<string>();
  private readonly logger: Logger;

  constructor(
    @Inject(CONFIG) private readonly config: TributaryConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly catalog: CatalogRepository,
    private readonly sources: SourceOutboxRepository,
    private readonly runs: VerifyRunRepository,
    private readonly verify: VerifyService,
    private readonly metrics: Metrics,
  ) {
    this.logger = logger.child({ component: 'rebuild-watcher' });
  }

  onApplicationBootstrap(): void {
    // information_schema.INNODB_SYS_TABLES lists every table of the server: looked at every 5 refreshes
    // (10 s by default), at least every 30 s.
    void this.task.start(Math.min(30_000, Math.max(1000, 5 * this.config.configRefreshMs)));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.task.stop();
  }

  private async look(): Promise<void> {
    const [sources, tables] = await Promise.all([this.catalog.listSources(), this.catalog.listCapturedTables()]);
    let changed = false;
    for (const source of sources) {
      const captured = tables.filter((table) => table.sourceId === source.id);
      if (captured.length > 0 && (await this.lookAt(source, captured))) changed = true;
    }
    // A change just recorded has its rebuilt_at from the control database's clock: read again then only.
    const rebuilt = (changed ? await this.catalog.listCapturedTables() : tables).filter((table) => table.rebuiltAt);
    if (rebuilt.length > 0) await this.repairRoutesOf(rebuilt);
  }

  /** Records each table's id; a new one is a truncate or rebuild. True if this process recorded one. */
  private async lookAt(source: SourceRecord, captured: CapturedTableRecord[]): Promise<boolean> {
    let ids: Map<string, number>;
    try {
      ids = await this.sources.tableIds(source, captured.map((table) => table.table));
    } catch (error) {
      if (!(error instanceof TableIdsUnreadableError)) throw error;
      if (!this.unreadable.has(source.id)) this.logger.warn({ source: source.id }, `${error.message}: a TRUNCATE of its tables goes unnoticed`);
      this.unreadable.add(source.id);
      return false;
    }
    this.unreadable.delete(source.id);
    let recorded = false;
    for (const table of captured) {
      const id = ids.get(table.table);
      const seen = table.innodbTableId ?? null;
      // A table that is gone is the drift monitor's to report (its capture is no longer installed).
      if (id === undefined || id === seen) continue;
      if (!(await this.catalog.recordInnodbTableId(source.id, table.table, seen, id)) || seen === null) continue;
      recorded = true;
      this.metrics.tableRebuilds.inc({ source: source.id, table: table.table });
      this.logger.error(
        { source: source.id, table: table.table, innodbTableId: { was: seen, now: id } },
        'captured table was truncated or rebuilt (a TRUNCATE fires no trigger): repairing its routes from the source',
      );
    }
    return recorded;
  }

  /** Starts a repair of every route of a rebuilt table that has none since (or only a failed one, a while ago). */
  private async repairRoutesOf(rebuilt: CapturedTableRecord[]): Promise<void> {
    const routes = await this.catalog.listRoutes();
    for (const table of rebuilt) {
      // A paused route is repaired once it runs again (a repair waits for the route to catch up).
      for (const route of routes.filter((r) => r.enabled && r.sourceId === table.sourceId && r.table === table.table)) {
        if (!needsRepair(await this.runs.listByRoute(route.id, 10), table.rebuiltAt!)) continue;
        try {
          const run = await this.verify.start(route.id, 'repair', REBUILD_REPAIR_ACTOR);
          this.logger.warn({ route: route.id, run: run.id, table: table.table }, 'repair started: the source table was truncated or rebuilt');
        } catch (error) {
          // Another run of the route is going on (it may have begun before the truncate): the next look tries again.
          if (!(error instanceof ConflictException) && !(error instanceof NotFoundException)) throw error;
        }
      }
    }
  }
}

/** Whether a route of a table rebuilt at `rebuiltAt` still needs a repair, given its latest runs (newest first). */
export function needsRepair(runs: readonly VerifyRunRecord[], rebuiltAt: Date, now = Date.now()): boolean {
  const since = runs.filter((run) => run.kind === 'repair' && run.startedAt.getTime() >= rebuiltAt.getTime());
  if (since.length === 0) return true;
  const latest = since[0];
  return latest.status === 'failed' && (latest.finishedAt?.getTime() ?? now) <= now - FAILED_REPAIR_RETRY_MS;
}

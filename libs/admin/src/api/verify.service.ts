import { BeforeApplicationShutdown, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { CatalogRepository, ProgressRepository, VerifyRunKind, VerifyRunRepository } from '@tributary/control';
import { LOGGER, Logger } from '@tributary/logger';
import { TargetRegistry } from '@tributary/targets';
import { claimRun, executeRun, HeldRunLock, routeRunLocks, RunBusyError, RunLocks } from '@tributary/verify';
import { ListVerifyRunsQueryDto, VerifyRunDto } from './verify.dto';

/** Who asked, when the caller did not say. */
const DEFAULT_ACTOR = 'api';

/**
 * Verify and repair runs of routes, started in the background: a run reads
 * whole tables and may wait for the route to catch up, far longer than an
 * HTTP request should stay open. One run per route at a time, across every
 * admin and CLI (a named lock on the control database's server): two would
 * compare and re-send the same rows for nothing.
 */
@Injectable()
export class VerifyService implements BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly locks: RunLocks;

  constructor(
    @Inject(CONFIG) config: TributaryConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly catalog: CatalogRepository,
    private readonly progress: ProgressRepository,
    private readonly runs: VerifyRunRepository,
    private readonly registry: TargetRegistry,
  ) {
    this.logger = logger.child({ component: 'verify' });
    this.locks = routeRunLocks(config.controlDatabaseUrl);
  }

  /** @throws NotFoundException (no route), ConflictException (a run of the route is going on). */
  async start(routeId: string, kind: VerifyRunKind, actor = DEFAULT_ACTOR): Promise<VerifyRunDto> {
    if (!(await this.catalog.getRoute(routeId))) throw new NotFoundException(`no route ${routeId}`);
    if (this.active.has(routeId)) throw new ConflictException(`a verify or repair of route ${routeId} is already running`);
    // Claimed with no await between the check and the claim, so two requests cannot both start one.
    const controller = new AbortController();
    const slot = { controller, done: Promise.resolve() };
    this.active.set(routeId, slot);
    try {
      const claim = await claimRun({ catalog: this.catalog, progress: this.progress, runs: this.runs, locks: this.locks }, routeId, kind, actor);
      slot.done = this.execute(claim.run.id, routeId, kind, controller.signal, claim);
      return VerifyRunDto.from(claim.run);
    } catch (error) {
      this.active.delete(routeId);
      if (error instanceof RunBusyError) throw new ConflictException(`${error.message} (in another process)`);
      throw error;
    }
  }

  async list(routeId: string, query: ListVerifyRunsQueryDto): Promise<VerifyRunDto[]> {
    if (!(await this.catalog.getRoute(routeId))) throw new NotFoundException(`no route ${routeId}`);
    // The validation pipe may or may not transform: query values can still be strings here.
    return (await this.runs.listByRoute(routeId, Number(query.limit ?? 50))).map(VerifyRunDto.from);
  }

  async get(runId: number): Promise<VerifyRunDto> {
    const run = await this.runs.get(runId);
    if (!run) throw new NotFoundException(`no verify run ${runId}`);
    return VerifyRunDto.from(run);
  }

  /** Stops running runs (recorded as failed: interrupted) before the control pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const slot of this.active.values()) slot.controller.abort();
    await Promise.allSettled([...this.active.values()].map((slot) => slot.done));
  }

  private async execute(runId: number, routeId: string, kind: VerifyRunKind, signal: AbortSignal, lock: HeldRunLock): Promise<void> {
    try {
      const run = (await this.runs.get(runId))!;
      const { run: finished } = await executeRun({ catalog: this.catalog, progress: this.progress, runs: this.runs, registry: this.registry }, run, { signal });
      this.logger.info(
        { route: routeId, run: runId, kind, status: finished.status, missing: finished.missing, extra: finished.extra, different: finished.different, error: finished.error },
        `${kind} of route ${routeId} finished: ${finished.status}`,
      );
    } catch (error) {
      // executeRun records its own failures; this is the control schema itself failing.
      this.logger.error({ route: routeId, run: runId, err: { type: (error as Error)?.name } }, `${kind} run could not be recorded`);
    } finally {
      await lock.release().catch(() => undefined);
      this.active.delete(routeId);
    }
  }
}

import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { CatalogRepository, ConflictRecord, ConflictRepository, RouteRecord } from '@tributary/control';
import { LOGGER, Logger } from '@tributary/logger';
import { ConflictDto, ListConflictsQueryDto, ResolveConflictDto } from './conflict.dto';
import { ResolutionEnqueuer } from './resolution-enqueuer';

/** What a decision did: resolved at once (keep-target), or queued for the worker. */
export interface ResolveOutcome {
  queued: boolean;
  conflicts: ConflictDto[];
}

/**
 * The conflict log of a route (issue #6): list and read every conflict the
 * worker recorded, and decide parked (manual) ones. A decision covers every
 * open conflict of the same key (a parked key may hold several parked
 * changes) and is kept with them: who, when, what. Nothing is deleted.
 */
@Injectable()
export class ConflictsService {
  private readonly logger: Logger;

  constructor(
    @Inject(LOGGER) logger: Logger,
    private readonly catalog: CatalogRepository,
    private readonly conflicts: ConflictRepository,
    private readonly enqueuer: ResolutionEnqueuer,
  ) {
    this.logger = logger.child({ component: 'conflicts' });
  }

  async list(routeId: string, query: ListConflictsQueryDto): Promise<ConflictDto[]> {
    await this.route(routeId);
    // The validation pipe may or may not transform: query values can still be strings here.
    const records = await this.conflicts.list(routeId, {
      status: query.status ?? 'all',
      decision: query.decision,
      kind: query.kind,
      limit: query.limit === undefined ? undefined : Number(query.limit),
      beforeId: query.beforeId === undefined ? undefined : Number(query.beforeId),
    });
    return records.map(ConflictDto.from);
  }

  async get(id: number): Promise<ConflictDto> {
    return ConflictDto.from(await this.conflict(id));
  }

  /**
   * Decides the open conflicts of the key `id` belongs to.
   * @throws BadRequestException for a merge without a row, or a row with another action
   * @throws NotFoundException for an unknown conflict (or a route that no longer exists)
   * @throws ConflictException unless the conflict is open
   */
  async resolve(id: number, body: ResolveConflictDto): Promise<ResolveOutcome> {
    const row = body.row ?? null;
    if (body.action === 'merge' && (row === null || Object.keys(row).length === 0)) {
      throw new BadRequestException('row is required for merge: the row to write, in target columns');
    }
    if (body.action !== 'merge' && row !== null) throw new BadRequestException(`row is only accepted with merge, not with ${body.action}`);

    const conflict = await this.conflict(id);
    if (row !== null) checkMergedRow(row, conflict);
    if (conflict.status !== 'open') throw new ConflictException(notOpen(conflict));
    const open = await this.conflicts.openForKey(conflict.routeId, conflict.keyHash);
    if (!open.some((other) => other.id === conflict.id)) throw new ConflictException(`conflict ${id} is no longer open`);

    if (body.action === 'keep-target') {
      const resolved = await this.conflicts.resolve(
        open.map((other) => other.id),
        { actor: body.actor, action: 'keep-target', row: null, from: ['open'] },
      );
      if (resolved.length === 0) throw new ConflictException(`conflict ${id} is no longer open`);
      for (const other of resolved) {
        this.logger.info({ route: other.routeId, seq: other.seq, conflict: other.id, actor: body.actor, action: body.action }, 'conflict resolved');
      }
      return { queued: false, conflicts: resolved.map(ConflictDto.from) };
    }

    const route = await this.route(conflict.routeId);
    const queued = await this.enqueuer.enqueue(route, open, { action: body.action, row, actor: body.actor });
    if (!queued) throw new ConflictException(`conflict ${id} is no longer open`);
    for (const other of queued.conflicts) {
      this.logger.info(
        { route: other.routeId, seq: other.seq, conflict: other.id, job: queued.jobId, actor: body.actor, action: body.action },
        'conflict resolution queued',
      );
    }
    return { queued: true, conflicts: queued.conflicts.map(ConflictDto.from) };
  }

  private async route(routeId: string): Promise<RouteRecord> {
    const route = await this.catalog.getRoute(routeId);
    if (!route) throw new NotFoundException(`route ${routeId} does not exist`);
    return route;
  }

  private async conflict(id: number): Promise<ConflictRecord> {
    const conflict = await this.conflicts.get(id);
    if (!conflict) throw new NotFoundException(`conflict ${id} does not exist`);
    return conflict;
  }
}

function notOpen(conflict: ConflictRecord): string {
  const by = conflict.resolvedBy ? ` by ${conflict.resolvedBy}` : '';
  if (conflict.status === 'resolving') return `conflict ${conflict.id} has a decision in flight (${conflict.resolution}${by}); it cannot be resolved now`;
  if (conflict.resolution) return `conflict ${conflict.id} was already resolved (${conflict.resolution}${by})`;
  return `conflict ${conflict.id} was resolved by the route's policy (${conflict.decision}); only parked conflicts can be resolved`;
}

/**
 * A merged row names target columns only: the worker writes the columns it
 * knows, so a misspelt one would otherwise be dropped without a word.
 */
function checkMergedRow(row: Record<string, unknown>, conflict: ConflictRecord): void {
  const known = new Set([conflict.incomingBefore, conflict.incomingAfter, conflict.targetRow].flatMap((image) => Object.keys(image ?? {})));
  const unknown = Object.keys(row).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new BadRequestException(`row: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (target columns: ${[...known].join(', ')})`);
  }
}

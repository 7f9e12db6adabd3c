import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { CatalogRepository, DeadLetterRecord, DeadLetterRepository, RouteRecord } from '@tributary/control';
import { LOGGER, Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { DeadLetterDto, DeadLetterPageDto, DiscardDeadLetterDto, ListDeadLettersQueryDto, RetryAcceptedDto } from './dto/dead-letter.dto';
import { QueuedRetry, RetryEnqueuer } from './retry-enqueuer';

const DEFAULT_PAGE = 100;
/** Open letters read per step of "retry all". */
const RETRY_ALL_PAGE = 1000;
/** Who asked, when the caller did not say. */
const DEFAULT_ACTOR = 'api';

/**
 * Dead letters of a route: list, read, retry (one or all, through the normal
 * apply path), discard with a record of who and why. Nothing is deleted
 * (invariant 9: nothing is dropped without a record).
 */
@Injectable()
export class DeadLettersService {
  private readonly logger: Logger;

  constructor(
    @Inject(LOGGER) logger: Logger,
    private readonly catalog: CatalogRepository,
    private readonly deadLetters: DeadLetterRepository,
    private readonly enqueuer: RetryEnqueuer,
    private readonly metrics: Metrics,
  ) {
    this.logger = logger.child({ component: 'dead-letters' });
  }

  async list(routeId: string, query: ListDeadLettersQueryDto): Promise<DeadLetterPageDto> {
    await this.route(routeId);
    // The validation pipe may or may not transform: query values can still be strings here.
    const limit = Number(query.limit ?? DEFAULT_PAGE);
    const afterId = query.afterId === undefined ? undefined : Number(query.afterId);
    const letters = await this.deadLetters.list(routeId, { status: query.status ?? 'open', afterId, limit });
    return {
      items: letters.map((letter) => toDto(letter, false)),
      nextAfterId: letters.length === limit ? letters[letters.length - 1].id : null,
    };
  }

  async get(routeId: string, letterId: number): Promise<DeadLetterDto> {
    return toDto(await this.letter(routeId, letterId), true);
  }

  /** @throws ConflictException unless the letter is open. */
  async retryOne(routeId: string, letterId: number, actor = DEFAULT_ACTOR): Promise<RetryAcceptedDto> {
    const route = await this.route(routeId);
    const letter = await this.letter(routeId, letterId);
    if (letter.status !== 'open') throw new ConflictException(notOpen(letter, 'retried'));
    const queued = await this.enqueuer.retry(route, [letter], actor);
    // Someone else took it between the read and the claim.
    if (queued.length === 0) throw new ConflictException(`dead letter ${letterId} is no longer open`);
    return this.accepted(route, queued, actor);
  }

  /** Every open letter of the route, in seq order, in bounded jobs queued after what is already queued. */
  async retryAll(routeId: string, actor = DEFAULT_ACTOR): Promise<RetryAcceptedDto> {
    const route = await this.route(routeId);
    const queued: QueuedRetry[] = [];
    // Walk by seq: a letter refused again while we walk has a seq already passed, so this ends.
    for (let after = { seq: 0, id: 0 }; ; ) {
      const page = await this.deadLetters.listOpenBySeq(routeId, after, RETRY_ALL_PAGE);
      if (page.length === 0) break;
      queued.push(...(await this.enqueuer.retry(route, page, actor)));
      const last = page[page.length - 1];
      after = { seq: last.seq, id: last.id };
    }
    return this.accepted(route, queued, actor);
  }

  /** @throws ConflictException unless the letter is open. */
  async discard(routeId: string, letterId: number, body: DiscardDeadLetterDto): Promise<DeadLetterDto> {
    await this.route(routeId);
    const outcome = await this.deadLetters.discard(routeId, letterId, { actor: body.actor, reason: body.reason });
    if (outcome.kind === 'not-found') throw new NotFoundException(`route ${routeId} has no dead letter ${letterId}`);
    if (outcome.kind === 'conflict') {
      throw new ConflictException(notOpen(await this.letter(routeId, letterId), 'discarded'));
    }
    const { letter } = outcome;
    this.metrics.deadLettersDiscarded.inc({ route: routeId });
    this.logger.warn({ route: routeId, seq: letter.seq, letter: letter.id, actor: body.actor, reason: body.reason }, 'dead letter discarded');
    return toDto(letter, false);
  }

  private accepted(route: RouteRecord, queued: QueuedRetry[], actor: string): RetryAcceptedDto {
    for (const { jobId, letters } of queued) {
      for (const letter of letters) this.logger.info({ route: route.id, seq: letter.seq, letter: letter.id, job: jobId, actor }, 'dead letter retry queued');
    }
    return { letterIds: queued.flatMap(({ letters }) => letters.map((letter) => letter.id)), jobIds: queued.map(({ jobId }) => jobId) };
  }

  private async route(routeId: string): Promise<RouteRecord> {
    const route = await this.catalog.getRoute(routeId);
    if (!route) throw new NotFoundException(`route ${routeId} does not exist`);
    return route;
  }

  private async letter(routeId: string, letterId: number): Promise<DeadLetterRecord> {
    const letter = await this.deadLetters.get(routeId, letterId);
    if (!letter) throw new NotFoundException(`route ${routeId} has no dead letter ${letterId}`);
    return letter;
  }
}

function notOpen(letter: DeadLetterRecord, wanted: 'retried' | 'discarded'): string {
  const by = letter.resolvedBy ? ` by ${letter.resolvedBy}` : '';
  switch (letter.status) {
    case 'discarded':
      return `dead letter ${letter.id} was discarded${by}; it cannot be ${wanted}`;
    case 'retried':
      return `dead letter ${letter.id} was already retried (${letter.resolutionNote ?? 'resolved'}); it cannot be ${wanted}`;
    case 'retrying':
      return `dead letter ${letter.id} has a retry in flight; it cannot be ${wanted} now`;
    default:
      return `dead letter ${letter.id} is ${letter.status}`;
  }
}

function toDto(letter: DeadLetterRecord, withChange: boolean): DeadLetterDto {
  const dto: DeadLetterDto = {
    id: letter.id,
    route: letter.routeId,
    seq: letter.seq,
    table: letter.table,
    op: letter.op,
    key: parseKey(letter.change.pk),
    status: letter.status,
    reason: letter.reason,
    code: letter.code,
    attempts: letter.attempts,
    createdAt: letter.createdAt.toISOString(),
    resolvedAt: letter.resolvedAt?.toISOString() ?? null,
    resolvedBy: letter.resolvedBy,
    resolutionNote: letter.resolutionNote,
  };
  if (withChange) dto.change = { ...letter.change };
  return dto;
}

/** Key values are plain JSON scalars (big integers and decimals are strings on the wire), so parsing keeps them exact. */
function parseKey(pk: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(pk);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

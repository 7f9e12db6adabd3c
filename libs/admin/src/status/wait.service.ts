import { BadRequestException, Inject, Injectable, NotFoundException, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { CatalogRepository, ProgressRepository } from '@tributary/control';
import { routeOfFeed } from '@tributary/model';
import { REDIS, RedisClient, SignalListener } from '@tributary/queue';
import { AppliedWaits } from './applied-waits';
import { WaitAnswerDto, WaitRequestDto } from './dto/wait.dto';
import { SourceOutboxRepository } from './source-outbox.repository';
import { StatusService } from './status.service';

/** How often one shared look at the control schema covers announcements that were lost. */
const LOOK_AGAIN_MS = 1000;
const DEFAULT_WAIT_MS = 10_000;

/**
 * Read-your-writes (POST /api/wait): answers once the named routes have
 * applied every change up to a writer's token, committed at their targets:
 * the route's watermark reached the token (every change at or below it is
 * committed at the target), or its coverage reached the source's clock when
 * the wait began (every change of a transaction committed before then is —
 * the writer's among them), so a transaction still open below the token
 * does not hold the answer back. Never before the change is visible.
 */
@Injectable()
export class WaitService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly waits: AppliedWaits;
  private readonly signals: SignalListener;

  constructor(
    @Inject(CONFIG) config: TributaryConfig,
    @Inject(REDIS) redis: RedisClient,
    private readonly catalog: CatalogRepository,
    private readonly progress: ProgressRepository,
    private readonly status: StatusService,
    private readonly outboxes: SourceOutboxRepository,
  ) {
    this.waits = new AppliedWaits(
      async (routeIds) => new Map((await this.progress.listProgress(routeIds)).map((p) => [p.routeId, { watermark: p.watermark, coveredMicros: p.coveredMicros }])),
      LOOK_AGAIN_MS,
    );
    this.signals = new SignalListener(redis, config.redis.prefix, {
      // A partition's feed speaks for its keys only: the route's watermark is read again.
      applied: (feed, watermark) => (routeOfFeed(feed) === feed ? this.waits.applied(feed, watermark) : this.waits.moved(routeOfFeed(feed))),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.signals.start();
  }

  onApplicationShutdown(): void {
    this.waits.close();
    this.signals.close();
  }

  /** @throws NotFoundException (a route or target of the source that does not exist), BadRequestException (neither or both of routes and target). */
  async wait(request: WaitRequestDto): Promise<WaitAnswerDto> {
    const routeIds = await this.routesOf(request);
    const started = Date.now();
    const since = await this.sourceClock(request.source);
    const outcome = await this.waits.wait(routeIds, request.token, request.timeoutMs ?? DEFAULT_WAIT_MS, since);
    const routes = await Promise.all(
      routeIds.map(async (route) => {
        const watermark = outcome.watermarks.get(route) ?? 0;
        const applied = outcome.reached.has(route);
        // A route removed meanwhile has no status: the answer goes without it.
        const status = applied ? undefined : await this.status.one(route).catch(() => undefined);
        return { route, watermark, applied, ...(status ? { status } : {}) };
      }),
    );
    return { applied: outcome.applied, token: request.token, waitedMs: Date.now() - started, routes };
  }

  /**
   * The source's clock as the wait begins: the writer committed before it
   * asked, so a route covering this moment has applied its changes, even
   * while an unrelated transaction holds the watermark below its token.
   * Null (the token alone decides) if the source cannot be read now.
   */
  private async sourceClock(sourceId: string): Promise<number | null> {
    try {
      const source = await this.catalog.getSource(sourceId);
      return source ? await this.outboxes.clockMicros(source) : null;
    } catch {
      return null;
    }
  }

  private async routesOf(request: WaitRequestDto): Promise<string[]> {
    if ((request.routes === undefined) === (request.target === undefined)) throw new BadRequestException('give routes or target (one of them)');
    const routes = await this.catalog.listRoutes({ sourceId: request.source });
    if (request.target !== undefined) {
      const into = routes.filter((route) => route.targetId === request.target).map((route) => route.id);
      if (into.length === 0) throw new NotFoundException(`no route of source ${request.source} writes into target ${request.target}`);
      return into;
    }
    const known = new Set(routes.map((route) => route.id));
    const unknown = request.routes!.filter((route) => !known.has(route));
    if (unknown.length > 0) throw new NotFoundException(`source ${request.source} has no route ${unknown.join(', ')}`);
    return [...new Set(request.routes)];
  }
}

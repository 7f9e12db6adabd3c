import { BadRequestException, Inject, Injectable, NotFoundException, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { CatalogRepository, ProgressRepository } from '@tributary/control';
import { routeOfFeed } from '@tributary/model';
import { REDIS, RedisClient, SignalListener } from '@tributary/queue';
import { AppliedWaits } from './applied-waits';
import { WaitAnswerDto, WaitRequestDto } from './dto/wait.dto';
import { StatusService } from './status.service';

/** How often one shared look at the control schema covers announcements that were lost. */
const LOOK_AGAIN_MS = 1000;
const DEFAULT_WAIT_MS = 10_000;

/**
 * Read-your-writes (POST /api/wait): answers once the named routes have
 * applied every change up to a writer's token, committed at their targets.
 * "Applied" is the route's watermark: every change at or below it is
 * committed at the target, so a change is never reported before it is
 * visible — and a transaction still open below the token holds the answer
 * back until it commits or rolls back (the watermark waits for it).
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
  ) {
    this.waits = new AppliedWaits(
      async (routeIds) => new Map((await this.progress.listProgress(routeIds)).map((p) => [p.routeId, p.watermark])),
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
    const outcome = await this.waits.wait(routeIds, request.token, request.timeoutMs ?? DEFAULT_WAIT_MS);
    const routes = await Promise.all(
      routeIds.map(async (route) => {
        const watermark = outcome.watermarks.get(route) ?? 0;
        const applied = watermark >= request.token;
        // A route removed meanwhile has no status: the answer goes without it.
        const status = applied ? undefined : await this.status.one(route).catch(() => undefined);
        return { route, watermark, applied, ...(status ? { status } : {}) };
      }),
    );
    return { applied: outcome.applied, token: request.token, waitedMs: Date.now() - started, routes };
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

import { Injectable, NotFoundException } from '@nestjs/common';
import { CatalogRepository, RouteSample, RouteSampleRepository } from '@tributary/control';
import { RouteHistoryDto, RouteHistoryPointDto } from './dto/route-history.dto';

const DEFAULT_MINUTES = 60;

/** Routes' sampled status over time (StatusSampler writes it), as points a chart draws. */
@Injectable()
export class RouteHistoryService {
  constructor(
    private readonly catalog: CatalogRepository,
    private readonly samples: RouteSampleRepository,
  ) {}

  /** Every route's history over the last `minutes`; a route with no sample yet has no points. */
  async all(minutes = DEFAULT_MINUTES): Promise<RouteHistoryDto[]> {
    const [routes, samples] = await Promise.all([this.catalog.listRoutes(), this.samples.since(sinceMinutes(minutes))]);
    const byRoute = groupByRoute(samples);
    return routes.map((route) => ({ route: route.id, points: historyPoints(byRoute.get(route.id) ?? []) }));
  }

  /** @throws NotFoundException for an unknown route. */
  async one(routeId: string, minutes = DEFAULT_MINUTES): Promise<RouteHistoryDto> {
    if (!(await this.catalog.getRoute(routeId))) throw new NotFoundException(`route ${routeId} does not exist`);
    return { route: routeId, points: historyPoints(await this.samples.since(sinceMinutes(minutes), [routeId])) };
  }
}

/** One route's samples (oldest first) as points, with the apply rate between neighbours. */
export function historyPoints(samples: readonly RouteSample[]): RouteHistoryPointDto[] {
  return samples.map((sample, i) => {
    const previous = samples[i - 1];
    const seconds = previous ? (sample.at.getTime() - previous.at.getTime()) / 1000 : 0;
    // A total that went down (the route was created anew) starts the rate over.
    const applied = previous ? sample.appliedTotal - previous.appliedTotal : 0;
    return {
      at: sample.at.toISOString(),
      state: sample.state,
      lagChanges: sample.lagChanges,
      lagSeconds: sample.lagSeconds,
      changesPerSecond: seconds > 0 && applied > 0 ? Math.round((applied / seconds) * 10) / 10 : 0,
      watermark: sample.watermark,
    };
  });
}

function groupByRoute(samples: readonly RouteSample[]): Map<string, RouteSample[]> {
  const byRoute = new Map<string, RouteSample[]>();
  for (const sample of samples) {
    const list = byRoute.get(sample.routeId);
    if (list) list.push(sample);
    else byRoute.set(sample.routeId, [sample]);
  }
  return byRoute;
}

function sinceMinutes(minutes: number): Date {
  return new Date(Date.now() - minutes * 60_000);
}

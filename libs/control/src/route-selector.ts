import { RouteSelector } from '@tributary/model';
import { RouteRecord } from './types';

/** What decides which outbox rows are a route's (routeWants), as relay, worker and status read it. */
export function routeSelectorOf(route: Pick<RouteRecord, 'id' | 'table' | 'targetId' | 'localOnly' | 'names'>): RouteSelector {
  return { routeId: route.id, table: route.table, targetId: route.targetId, ...(route.localOnly ? { localOnly: true } : {}), ...(route.names ? { names: route.names } : {}) };
}

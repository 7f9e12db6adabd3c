import { RouteRecord } from '@tributary/control';
import { keyedBySource, RouteMapping } from '@tributary/replication';
import { SourceVersioning } from '@tributary/targets';

/**
 * The routes whose batches keep versions per source at the target (issue
 * #14): their target table is written by routes of several sources whose
 * rows can share a key (not every route keys the table by source). The
 * legacy source, whose versions the table held alone before, is that of the
 * route created first. One pass over the routes, grouped by target table.
 */
export function sourceVersioningByRoute(routes: readonly RouteRecord[]): Map<string, SourceVersioning> {
  const byTable = new Map<string, RouteRecord[]>();
  for (const route of routes) {
    const key = `${route.targetId}\0${route.targetTable}`;
    const sharing = byTable.get(key);
    if (sharing) sharing.push(route);
    else byTable.set(key, [route]);
  }
  const versioning = new Map<string, SourceVersioning>();
  for (const sharing of byTable.values()) {
    if (new Set(sharing.map((route) => route.sourceId)).size < 2) continue;
    if (keyedBySource(sharing.map((route) => route.mapping as RouteMapping | null))) continue;
    const first = [...sharing].sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0) || (a.id < b.id ? -1 : 1))[0];
    for (const route of sharing) versioning.set(route.id, { source: route.sourceId, legacySource: first.sourceId });
  }
  return versioning;
}

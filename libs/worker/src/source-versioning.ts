import { RouteRecord } from '@tributary/control';
import { keyedBySource, RouteMapping } from '@tributary/replication';
import { SourceVersioning } from '@tributary/targets';

/**
 * Whether `route`'s batches keep versions per source at the target (issue
 * #14): its target table is written by routes of several sources whose rows
 * can share a key (not every route keys the table by source). The legacy
 * source, whose versions the table held alone before, is that of the route
 * created first.
 */
export function sourceVersioningOf(route: RouteRecord, routes: readonly RouteRecord[]): SourceVersioning | undefined {
  const sharing = routes.filter((other) => other.targetId === route.targetId && other.targetTable === route.targetTable);
  if (new Set(sharing.map((other) => other.sourceId)).size < 2) return undefined;
  if (keyedBySource(sharing.map((other) => other.mapping as RouteMapping | null))) return undefined;
  const first = [...sharing].sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0) || (a.id < b.id ? -1 : 1))[0];
  return { source: route.sourceId, legacySource: first.sourceId };
}

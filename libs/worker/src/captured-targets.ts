import { CapturedTableRecord, RouteRecord, TargetRecord } from '@tributary/control';
import { TableSchema } from '@tributary/model';
import { SchemaCache } from './schema-cache';

/**
 * The routes whose target table is captured in the target database as well
 * (a multi-leader group: the database is a source too), with the table's
 * schema as captured there (ApplyBatch.capturedAs): a delete such a route
 * applies that finds no row is then still passed on from that database (a
 * ring, a star). Only for what needs it: MySQL targets and newer-wins, the
 * policy that remembers deletions.
 */
export async function capturedTargetTables(
  routes: readonly RouteRecord[],
  targets: readonly TargetRecord[],
  captured: readonly CapturedTableRecord[],
  schemas: SchemaCache,
): Promise<Map<string, TableSchema>> {
  const mysqlTargets = new Set(targets.filter((target) => target.kind === 'mysql').map((target) => target.id));
  const capturedBy = new Map(captured.map((record) => [`${record.sourceId}\0${record.table}`, record]));
  const byRoute = new Map<string, TableSchema>();
  for (const route of routes) {
    const policy = route.conflictPolicy as { resolution?: unknown } | null | undefined;
    if (policy?.resolution !== 'newer-wins' || !mysqlTargets.has(route.targetId)) continue;
    const record = capturedBy.get(`${route.targetId}\0${route.targetTable}`);
    if (!record) continue;
    const schemaOf = await schemas.load(record.sourceId, record.table, [record.schemaHash]);
    byRoute.set(route.id, schemaOf(record.schemaHash));
  }
  return byRoute;
}

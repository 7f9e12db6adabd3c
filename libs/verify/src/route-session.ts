import { CatalogRepository, openMysql, ProgressRepository, RouteRecord } from '@tributary/control';
import { OutboxRepository } from '@tributary/outbox';
import { defaultTargetRegistry, Target, TargetConfigError, TargetRegistry } from '@tributary/targets';
import { keyedBySource, RouteConfigError, RouteMapping, sourceKeyColumn } from '@tributary/replication';
import { UnknownRouteError, VerifyConfigError } from './errors';
import { routeExpectation } from './expectation';
import { VerifyDeps } from './verifier';

/** A route opened for verify or repair: its configuration and connections, closed together. */
export interface RouteSession extends VerifyDeps {
  close(): Promise<void>;
}

export interface ControlAccess {
  catalog: CatalogRepository;
  progress: ProgressRepository;
}

/**
 * Loads a route and opens its source (a small pool of its own: verify reads
 * are long plain scans that should not take connections from the relay) and
 * its target.
 *
 * @throws UnknownRouteError, VerifyConfigError (messages never carry a URL).
 */
export async function openRouteSession(control: ControlAccess, routeId: string, registry: TargetRegistry = defaultTargetRegistry()): Promise<RouteSession> {
  const { catalog, progress } = control;
  const route = await catalog.getRoute(routeId);
  if (!route) throw new UnknownRouteError(routeId);
  const captured = await catalog.getCapturedTable(route.sourceId, route.table);
  if (!captured) throw new VerifyConfigError(`table ${route.table} is not captured on source ${route.sourceId}`);
  const schema = await catalog.getSchema(route.sourceId, route.table, captured.schemaHash);
  if (!schema) throw new VerifyConfigError(`schema ${captured.schemaHash} of ${route.table} is missing from the catalog`);
  const sourceRecord = await catalog.getSource(route.sourceId);
  if (!sourceRecord) throw new VerifyConfigError(`source ${route.sourceId} of route ${route.id} does not exist`);
  const targetRecord = await catalog.getTarget(route.targetId);
  if (!targetRecord) throw new VerifyConfigError(`target ${route.targetId} of route ${route.id} does not exist`);

  let expectation;
  try {
    expectation = routeExpectation(route, schema);
  } catch (error) {
    if (error instanceof RouteConfigError) throw new VerifyConfigError(error.message);
    throw error;
  }
  let target: Target;
  try {
    target = registry.create({ kind: targetRecord.kind, url: targetRecord.url, options: targetRecord.options });
  } catch (error) {
    if (error instanceof TargetConfigError) throw new VerifyConfigError(`target ${targetRecord.id}: ${error.message}`);
    throw error;
  }
  const sharing = (await catalog.listRoutes()).filter((other) => other.id !== route.id && other.targetId === route.targetId && other.targetTable === route.targetTable);
  const sharedWith = sharing.map((other) => other.id);
  const ownedBy = ownedRows(route, sharing);
  const source = openMysql(sourceRecord.url, { min: 0, max: 2 });
  return {
    route,
    schema,
    expectation,
    source,
    outbox: new OutboxRepository(source),
    progress,
    target,
    sharedWith,
    ...(ownedBy ? { ownedBy } : {}),
    async close() {
      await Promise.allSettled([target.close(), source.destroy()]);
    },
  };
}

/**
 * VerifyDeps.ownedBy: the route's rows in a table others write too, when
 * every route there keys it by source (keyedBySource) and no other route of
 * the same source writes it.
 */
function ownedRows(route: RouteRecord, sharing: readonly RouteRecord[]): VerifyDeps['ownedBy'] | undefined {
  if (sharing.length === 0 || sharing.some((other) => other.sourceId === route.sourceId)) return undefined;
  const mappings = [route, ...sharing].map((r) => r.mapping as RouteMapping | null);
  if (!keyedBySource(mappings)) return undefined;
  return { column: sourceKeyColumn(mappings[0])!, value: route.sourceId };
}

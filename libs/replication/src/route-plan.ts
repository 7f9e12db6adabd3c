import { copyRouteOf, RowChange, TableSchema, TargetTableSpec, WireChange } from '@tributary/model';
import { compileFilter, RowFilter } from './filter/compile';
import { FilterError } from './filter/errors';
import { CompiledMapping, compileMapping, MappingError } from './mapping/mapping';
import { applyFilter } from './move-semantics';

/** What a plan needs of a route (the control schema's RouteRecord has it). */
export interface RouteRules {
  id: string;
  table: string;
  targetTable: string;
  filter?: string | null;
  mapping?: Record<string, unknown> | null;
  conflictPolicy?: Record<string, unknown> | null;
}

/**
 * A route's filter or mapping does not fit the schema its changes were
 * captured with (e.g. the filter names a column a later ALTER dropped).
 * Never a dead letter and never a silent drop ("nothing dropped without a
 * record"): the batch is retried, the route stalls with this as its
 * lastError until the route is fixed.
 */
export class RouteConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteConfigError';
  }
}

/** How one route writes changes of one captured schema: the target table, and each change's filtered, mapped form. */
export interface RoutePlan {
  spec: TargetTableSpec;
  /** The change as the target applies it, or null if the filter drops it (move semantics, @tributary/replication). */
  transform(wire: WireChange, change: RowChange, sourceId: string): RowChange | null;
}

/**
 * Identifies what the plan depends on in the route: a changed filter,
 * mapping or target table gives a new plan (and a new ensureTable).
 */
export function routeConfigVersion(route: RouteRules): string {
  return JSON.stringify([route.targetTable, route.filter ?? null, route.mapping ?? null, route.conflictPolicy ?? null]);
}

/** @throws RouteConfigError if the filter or mapping does not fit the schema. */
export function routePlan(route: RouteRules, schema: TableSchema): RoutePlan {
  let filter: RowFilter | null = null;
  let mapping: CompiledMapping | null = null;
  try {
    if (route.filter) filter = compileFilter(route.filter, schema.columns);
    if (route.mapping) mapping = compileMapping(route.mapping, schema.columns, schema.key);
  } catch (error) {
    if (!(error instanceof FilterError) && !(error instanceof MappingError)) throw error;
    const what = error instanceof FilterError ? 'filter' : 'mapping';
    throw new RouteConfigError(
      `route ${route.id}: the ${what} does not fit table ${route.table} as captured (schema ${schema.hash}): ${error.message}; ` +
        `change the route's ${what} — its changes wait until then`,
    );
  }
  const spec = targetTableSpec(route.targetTable, schema, mapping);
  return {
    spec,
    transform(wire, change, sourceId) {
      const kept = copyRouteOf(wire.origin) !== null ? copied(change, filter) : filter ? applyFilter(change, filter.evaluate, schema.key) : change;
      if (!kept || !mapping) return kept;
      const context = { source: sourceId, table: wire.table, seq: wire.seq, op: kept.op, ts: wire.ts };
      return {
        seq: kept.seq,
        op: kept.op,
        key: mapping.mapKey(kept.key, context),
        before: kept.before && mapping.mapRow(kept.before, context),
        after: kept.after && mapping.mapRow(kept.after, context),
      };
    },
  };
}

/** The table a route writes: the captured columns and key, or what the mapping makes of them. */
export function targetTableSpec(targetTable: string, schema: TableSchema, mapping: CompiledMapping | null): TargetTableSpec {
  return mapping ? { name: targetTable, columns: mapping.columns, key: mapping.key } : { name: targetTable, columns: schema.columns, key: schema.key };
}

/**
 * A copy record (initial copy, re-sync, repair) states what the source holds
 * now, not what changed: an insert is "the row is this" and the target gets
 * it if it matches the filter and loses it if it does not (a re-sync after a
 * filter change removes rows that stopped matching); a delete is "the source
 * has no such row", whatever the filter says.
 */
function copied(change: RowChange, filter: RowFilter | null): RowChange {
  if (change.op === 'insert' && change.after && (!filter || filter.evaluate(change.after))) return change;
  return { seq: change.seq, op: 'delete', key: change.key, before: change.after ?? change.before, after: null };
}

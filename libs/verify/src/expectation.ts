import { RouteRecord } from '@tributary/control';
import { copyOrigin, Row, TableSchema, TargetTableSpec, WireChange } from '@tributary/model';
import { changeDependentColumns, RouteMapping, routePlan } from '@tributary/replication';
import { RowComparison, rowComparison } from './normalise';

/** What the target of a route should hold for each source row. */
export interface RouteExpectation {
  spec: TargetTableSpec;
  comparison: RowComparison;
  /** Target columns not compared (computed from the change: seq, change_ts, op). */
  ignored: ReadonlySet<string>;
  /** The row the target should hold for this source row, or null if the route's filter keeps it out. */
  expected(sourceRow: Row): Row | null;
  /** The source key of a target row (or key): spec.key[i] is the target name of schema.key[i]; computed key columns come after them. */
  sourceKeyOf(targetRow: Row): Row;
  targetKeyOf(sourceRow: Row): Row;
}

/**
 * Builds the expectation from the worker's own route plan, fed a copy record
 * ("the source row is now this"): the very filter and mapping the worker
 * applies, so verify cannot disagree with replication about what belongs at
 * the target.
 *
 * @throws RouteConfigError (from @tributary/replication) if the filter or mapping does not fit the schema.
 */
export function routeExpectation(route: RouteRecord, schema: TableSchema): RouteExpectation {
  const plan = routePlan(route, schema);
  const ignored = changeDependentColumns(route.mapping as RouteMapping | null | undefined);
  const wire: WireChange = { seq: 0, table: schema.table, op: 'insert', pk: '', before: null, after: null, origin: copyOrigin(route.id), ts: 0, schema: schema.hash };
  const pick = (row: Row, from: readonly string[], to: readonly string[]): Row => Object.fromEntries(to.map((name, i) => [name, row[from[i]] ?? null]));
  // Computed key columns (after the source key's: fan-in's source column) hold one value per route:
  // what the plan gives any key, e.g. a copy's "no such row".
  const anyKey = Object.fromEntries(schema.key.map((name) => [name, null]));
  const computedKey = plan.transform(wire, { seq: 0, op: 'delete', key: anyKey, before: null, after: null }, route.sourceId)?.key ?? {};
  const computedKeyNames = plan.spec.key.slice(schema.key.length);
  return {
    spec: plan.spec,
    comparison: rowComparison(plan.spec.columns, plan.spec.key, ignored),
    ignored,
    expected(sourceRow) {
      const key = pick(sourceRow, schema.key, schema.key);
      // The source id only matters to a 'source' computed column, which compares as the route's own source.
      const result = plan.transform(wire, { seq: 0, op: 'insert', key, before: null, after: sourceRow }, route.sourceId);
      return result && result.op !== 'delete' ? result.after : null;
    },
    sourceKeyOf: (targetRow) => pick(targetRow, plan.spec.key, schema.key),
    targetKeyOf: (sourceRow) => ({ ...pick(sourceRow, schema.key, plan.spec.key.slice(0, schema.key.length)), ...pick(computedKey, computedKeyNames, computedKeyNames) }),
  };
}

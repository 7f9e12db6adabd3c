/**
 * Pure replication rules, no I/O: row filters (a small SQL-like language
 * parsed with jsep, never evaluated as code), column mappings and the move
 * semantics that keep a filtered target equal to "source rows that match, now".
 */
export { compileFilter, likeToRegExp, RowFilter } from './filter/compile';
export { compareDecimal } from './filter/decimal';
export { FilterError } from './filter/errors';
export { FilterPushdown, filterToMysql } from './filter/pushdown';
export { ChangeContext, changeDependentColumns, CompiledMapping, compileMapping, ComputedColumn, ComputedValue, MappingError, keyedBySource, microsToUtc, RouteMapping, sourceKeyColumn, targetColumnName } from './mapping/mapping';
export { applyFilter, FilterableChange } from './move-semantics';
export { ConflictKind, detectConflict, rowsEqual, valuesEqual } from './conflicts/detect';
export { ConflictPolicy, ConflictPolicyError, DetectMode, parseConflictPolicy, Resolution } from './conflicts/policy';
export { compareValues, Decision, decide, deletionWins } from './conflicts/resolve';
export { RouteConfigError, routeConfigVersion, RoutePlan, routePlan, RouteRules, targetTableSpec } from './route-plan';
export { ColumnNamingRules, renamedColumn, renameRuleColumns, sequentialRenames, undoRenames } from './column-renames';

export * from './schema-change-setup';
export type { ColumnChange, ColumnChangeKind } from './schema-diff';
export { DROPPED_COLUMN_POLICIES } from './route-effects';
export type { DroppedColumnPolicy, RouteSchemaEffect } from './route-effects';

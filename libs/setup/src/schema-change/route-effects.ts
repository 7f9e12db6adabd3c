import { ColumnDefault, ColumnDefaultChange, ColumnRename, ColumnSpec, describeDefault, TableStep } from '@tributary/model';
import { defaultSql, DefaultDialect } from '@tributary/targets';
import { ColumnNamingRules, RouteConfigError, RouteMapping, routePlan, RouteRules, renameRuleColumns, targetColumnName } from '@tributary/replication';
import { SchemaDiff } from './schema-diff';

/** What a route's target does with a column the source dropped (a route setting). */
export type DroppedColumnPolicy = 'keep' | 'drop';
export const DROPPED_COLUMN_POLICIES: readonly DroppedColumnPolicy[] = ['keep', 'drop'];

export interface RouteUnderChange {
  route: RouteRules & ColumnNamingRules & { targetId: string };
  targetKind: string;
  droppedColumns: DroppedColumnPolicy;
  /** Other routes write the same target table (fan-in): its columns are theirs too. */
  sharesTargetTable: boolean;
}

/** How one route follows a schema change: what its target table does, how its rules are rewritten, what stays inexact. */
export interface RouteSchemaEffect {
  route: string;
  target: string;
  targetKind: string;
  targetTable: string;
  /** What happens at the target table, in words. */
  actions: string[];
  /** How the route's filter, mapping or conflict policy is rewritten, in words. */
  routeChanges: string[];
  /** Why the target cannot match the source again without a re-sync; empty when it follows exactly. */
  resyncReasons: string[];
  /** Why the route will stop (its changes kept) until a person changes it; null if it goes on. */
  waits: string | null;
  /** The route's rules in the new names, or null if they do not change. */
  rewritten: Required<ColumnNamingRules> | null;
  /** The renames and drops its target table carries out (target names), or null if none. */
  step: Omit<TableStep, 'id'> | null;
}

const SQL_KINDS = new Set(['postgres', 'mysql', 'sqlite']);

/**
 * Plans how a route follows `diff`. Pure: the same answer for the dry run
 * and the change itself, and the step it returns is what the route's
 * target table then carries out (recorded with the schema change).
 */
export function planRouteEffect(input: RouteUnderChange, diff: SchemaDiff): RouteSchemaEffect {
  const { route, targetKind } = input;
  const effect: RouteSchemaEffect = {
    route: route.id,
    target: route.targetId,
    targetKind,
    targetTable: route.targetTable,
    actions: [],
    routeChanges: [],
    resyncReasons: [],
    waits: null,
    rewritten: null,
    step: null,
  };
  const before: Required<ColumnNamingRules> = { filter: route.filter ?? null, mapping: route.mapping ?? null, conflictPolicy: route.conflictPolicy ?? null };
  const sql = SQL_KINDS.has(targetKind);
  const stored = targetKind === 'redis'; // keeps rows it was sent, field by field; http and brokers keep nothing

  // Renames, one step after another, each through the route's rules as they are at that step.
  let rules = before;
  const renamed: ColumnRename[] = [];
  for (const rename of diff.renames) {
    const next = renameRuleColumns(rules, [rename]);
    const from = mappedColumn(rules.mapping, rename.from);
    const to = mappedColumn(next.mapping, rename.to);
    rules = next;
    if (from === null || to === null || from === to) continue;
    if (input.sharesTargetTable) {
      // Other routes write `from` there: this route keeps writing it too, under the source's new name.
      rules = { ...rules, mapping: { ...(rules.mapping ?? {}), rename: { ...(renameMap(rules.mapping) ?? {}), [rename.to]: from } } };
      continue;
    }
    renamed.push({ from, to });
  }
  for (const { from, to } of collapse(renamed)) {
    effect.actions.push(sql ? `rename column ${from} to ${to} (its values kept)` : `${to} in place of ${from} from now on`);
    if (stored) effect.resyncReasons.push(`rows already stored keep the field ${from}; a re-sync rewrites them as ${to}`);
  }

  const dropped: string[] = [];
  for (const name of diff.dropped) {
    const column = mappedColumn(before.mapping, name);
    if (column === null) continue;
    const reused = renamed.some((rename) => rename.to === column);
    if (input.droppedColumns === 'keep' && reused && !input.sharesTargetTable) {
      // A renamed column takes its name: kept, it would take the renamed column's place with its own values.
      dropped.push(column);
      effect.actions.push(`drop column ${column}: a renamed column takes its name (the route keeps dropped columns otherwise)`);
    } else if (input.droppedColumns === 'keep') {
      effect.actions.push(`keep column ${column} (rows written from now on leave it NULL; the route's setting droppedColumns is keep)`);
    } else if (input.sharesTargetTable) {
      effect.actions.push(`keep column ${column}: other routes write table ${route.targetTable} too`);
    } else {
      dropped.push(column);
      effect.actions.push(sql ? `drop column ${column}` : `${column} no longer sent`);
      if (stored) effect.resyncReasons.push(`rows already stored keep the field ${column}; a re-sync rewrites them without it`);
    }
  }

  let keyChange: string | null = null;
  const defaults: ColumnDefaultChange[] = [];
  for (const change of diff.changes) {
    const column = mappedColumn(rules.mapping, change.column);
    if (change.kind === 'key') {
      // A re-sync into the same table cannot help: its primary key is the old one (ensureTable refuses it).
      keyChange = `the key changed (${change.detail}): the target table ${route.targetTable} is keyed by the old key; point the route at a new target table (PATCH targetTable) and re-sync it`;
      continue;
    }
    if (column === null || change.kind === 'dropped' || change.kind === 'renamed') continue;
    if (change.kind === 'added') {
      const filledAlike = sql && carriesDefault(targetKind, diff.after.columns.find((spec) => spec.name === change.column));
      effect.actions.push(sql ? `add column ${column} (NULL-able; rows already there get ${filledAlike ? 'its default, as at the source' : 'NULL'})` : `${column} sent from now on`);
      // The source filled its rows with a constant default, and the target's ADD COLUMN does the same.
      if (filledAlike) continue;
    }
    if (change.kind === 'widened') effect.actions.push(sql ? `widen column ${column} (${change.detail})` : `${column}: values carried as they are`);
    if (change.kind === 'retyped') {
      effect.actions.push(sql ? `keep column ${column} as it is typed at the target: values that do not fit it are refused as rows (dead letters)` : `${column}: values carried as they are`);
    }
    if (change.kind === 'nullability' && change.detail.endsWith('→ NULL') && sql) effect.actions.push(`make column ${column} NULL-able`);
    if (change.kind === 'default' && sql) defaults.push(defaultChange(column, diff.after.columns.find((spec) => spec.name === change.column)?.default, effect));
    if (!change.exact) effect.resyncReasons.push(`${column}: ${change.detail}`);
  }

  if (JSON.stringify(rules) !== JSON.stringify(before)) {
    effect.rewritten = rules;
    for (const part of ['filter', 'mapping', 'conflictPolicy'] as const) {
      if (JSON.stringify(rules[part]) !== JSON.stringify(before[part])) effect.routeChanges.push(`${part}: ${JSON.stringify(before[part])} → ${JSON.stringify(rules[part])}`);
    }
  }
  effect.waits = keyChange ?? waitsFor({ ...route, ...rules }, diff);
  if (renamed.length > 0 || dropped.length > 0 || defaults.length > 0) effect.step = { dropped, renamed, ...(defaults.length > 0 ? { defaults } : {}) };
  if (effect.actions.length === 0) effect.actions.push('nothing to change');
  return effect;
}

/**
 * The default a SQL target's column takes (and the plan's words for it). An
 * expression is MariaDB's own SQL: the target drops the default it had
 * instead of keeping one that is no longer the source's.
 */
function defaultChange(column: string, value: ColumnDefault | undefined, effect: RouteSchemaEffect): ColumnDefaultChange {
  if (value && value.kind !== 'expression') {
    effect.actions.push(`set the default of column ${column} to ${describeDefault(value)}`);
    return { column, default: value };
  }
  effect.actions.push(value ? `drop the default of column ${column}: ${value.sql} is MariaDB's own expression, not carried` : `drop the default of column ${column}`);
  return { column, default: null };
}

/** Whether a SQL target's ADD COLUMN gives the rows already there the column's default, as the source did (a constant). */
function carriesDefault(targetKind: string, column: ColumnSpec | undefined): boolean {
  if (!column?.default || column.default.kind !== 'value') return false;
  return defaultSql(targetKind as DefaultDialect, column, column.default) !== null;
}

/** Why the route's rules would not fit the new schema (its changes would wait), or null. */
function waitsFor(route: RouteRules, diff: SchemaDiff): string | null {
  try {
    routePlan(route, diff.after);
    return null;
  } catch (error) {
    if (!(error instanceof RouteConfigError)) throw error;
    return error.message;
  }
}

/** The target name of a source column under a route's mapping, or null if the mapping leaves it out. */
function mappedColumn(mapping: Record<string, unknown> | null, name: string): string | null {
  const spec = (mapping ?? {}) as RouteMapping;
  const kept = Array.isArray(spec.include) ? spec.include.includes(name) : !(Array.isArray(spec.exclude) && spec.exclude.includes(name));
  return kept ? targetColumnName(spec, name) : null;
}

function renameMap(mapping: Record<string, unknown> | null): Record<string, string> | null {
  const rename = mapping?.rename;
  return rename && typeof rename === 'object' && !Array.isArray(rename) ? (rename as Record<string, string>) : null;
}

const TEMPORARY = /^_trb_rename_\d+_*$/;
function isTemporary(name: string): boolean {
  return TEMPORARY.test(name);
}

/** Renames as a person reads them: a step into a temporary name and out of it is one rename. */
function collapse(steps: ColumnRename[]): ColumnRename[] {
  const out: ColumnRename[] = [];
  const parked = new Map<string, string>();
  for (const { from, to } of steps) {
    if (isTemporary(to)) parked.set(to, from);
    else out.push({ from: parked.get(from) ?? from, to });
  }
  return out;
}

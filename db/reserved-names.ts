/**
 * Table names Tributary owns. A route must never write one at a target, and
 * capture must never be installed on one at a source: the worker would
 * overwrite row versions or checkpoints (silent loss: a later change is
 * skipped with lag 0), or capture would record Tributary's own bookkeeping.
 *
 * Every table Tributary creates at a source or a target starts with
 * `_tributary_` (outbox, migrations, row versions, checkpoints, and any it
 * adds later). The control schema's tables are named `tributary_*`, and
 * the control database may be a source's database or a MySQL target's.
 */
export const RESERVED_TABLE_PREFIX = '_tributary_';

/** The control schema's tables (db/control migrations and knex's own two). */
export const CONTROL_TABLES: readonly string[] = [
  'tributary_sources',
  'tributary_table_schemas',
  'tributary_tables',
  'tributary_targets',
  'tributary_routes',
  'tributary_relay_state',
  'tributary_route_progress',
  'tributary_dead_letters',
  'tributary_snapshots',
  'tributary_verify_runs',
  'tributary_conflicts',
  'tributary_route_samples',
  'tributary_schema_changes',
  'tributary_table_renames',
  'tributary_migrations',
  'tributary_migrations_lock',
];

const CONTROL = new Set(CONTROL_TABLES);

/**
 * Why `name` cannot be a captured or a target table, or null if it can.
 * Compared without case: MySQL on some systems, and PostgreSQL for unquoted
 * names, fold it.
 */
export function reservedTableReason(name: string): string | null {
  const folded = name.toLowerCase();
  if (folded.startsWith(RESERVED_TABLE_PREFIX)) return `${name} is reserved: Tributary keeps its own bookkeeping in tables named ${RESERVED_TABLE_PREFIX}*`;
  if (CONTROL.has(folded)) return `${name} is reserved: it is a table of Tributary's control schema`;
  return null;
}

/**
 * Why `name` cannot be a column of a target table, or null if it can:
 * Tributary adds columns named `_tributary_*` to target tables (the row's
 * version at PostgreSQL), and a user column of that name would be
 * overwritten. Compared without case, as table names.
 */
export function reservedColumnReason(name: string): string | null {
  if (name.toLowerCase().startsWith(RESERVED_TABLE_PREFIX)) return `column ${name} is reserved: Tributary keeps its own bookkeeping in columns named ${RESERVED_TABLE_PREFIX}*`;
  return null;
}

import { ORIGIN_VARIABLE } from '@tributary/db';
import { outboxInsertSelectSql, OutboxRowSql } from '@tributary/outbox';
import { ColumnSpec, TableSchema, quoteMysql, validateIdentifier } from '@tributary/model';
import { CaptureError } from './errors';
import { cascadeTriggerNames, triggerNames } from './names';
import { Query, sqlString } from './sql';
import { imageExpression, TriggerDefinition } from './triggers';

/** A foreign key of the source database, as information_schema describes it. */
export interface ForeignKey {
  name: string;
  child: string;
  childColumns: string[];
  parent: string;
  parentColumns: string[];
  /** CASCADE, SET NULL, RESTRICT, NO ACTION (InnoDB refuses SET DEFAULT). */
  onDelete: string;
  onUpdate: string;
}

/** InnoDB nests cascades at most 15 levels deep: a self-referencing table's descendants are unrolled that far. */
export const MAX_CASCADE_DEPTH = 15;
/** Statements at most in one cascade trigger: a foreign-key graph that branches more is refused (CascadeTooWideError). */
const MAX_STATEMENTS = 64;

/**
 * The foreign keys of the current database whose parent and child are both
 * in it, each with its columns in order.
 */
export async function readForeignKeys(query: Query): Promise<ForeignKey[]> {
  const keys = await query<{ name: string; child: string; parent: string; onDelete: string; onUpdate: string }>(
    `SELECT CONSTRAINT_NAME AS name, TABLE_NAME AS child, REFERENCED_TABLE_NAME AS parent, DELETE_RULE AS onDelete, UPDATE_RULE AS onUpdate
       FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() AND UNIQUE_CONSTRAINT_SCHEMA = DATABASE()
      ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
  );
  const columns = await query<{ name: string; child: string; column: string; referenced: string }>(
    `SELECT CONSTRAINT_NAME AS name, TABLE_NAME AS child, COLUMN_NAME AS \`column\`, REFERENCED_COLUMN_NAME AS referenced
       FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_SCHEMA = DATABASE()
      ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
  );
  return keys.map((key) => {
    const own = columns.filter((c) => c.name === key.name && c.child === key.child);
    return { ...key, childColumns: own.map((c) => c.column), parentColumns: own.map((c) => c.referenced) };
  });
}

/** The tables of the current database that carry our capture triggers (their insert trigger is there). */
export async function capturedTableNames(query: Query): Promise<Set<string>> {
  const rows = await query<{ name: string; table: string }>(
    `SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS \`table\` FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()`,
  );
  return new Set(rows.filter((row) => isIdentifier(row.table) && triggerNames(row.table).insert === row.name).map((row) => row.table));
}

/** A foreign key whose action changes child rows inside the server, where no trigger sees them. */
function silentOnDelete(key: ForeignKey): boolean {
  return key.onDelete === 'CASCADE' || key.onDelete === 'SET NULL';
}

function silentOnUpdate(key: ForeignKey): boolean {
  return key.onUpdate === 'CASCADE' || key.onUpdate === 'SET NULL';
}

/**
 * The tables whose cascade triggers would change if `table` (as a child)
 * changed shape or started or stopped being captured: every table with a
 * path of cascading foreign keys down to it (a superset: a SET NULL key
 * ends a path, which this does not tell apart).
 */
export function cascadeAncestors(table: string, keys: readonly ForeignKey[]): string[] {
  const found = reachable(table, keys, (key) => key.child, (key) => key.parent);
  found.delete(table);
  return [...found].sort();
}

/** The tables below `table` along cascading foreign keys (its own table too, for a self-reference). */
function cascadeDescendants(table: string, keys: readonly ForeignKey[]): Set<string> {
  return reachable(table, keys, (key) => key.parent, (key) => key.child);
}

/** The tables reached from `table` along cascading keys, each key from its `from` end to its `to` end, within InnoDB's depth. */
function reachable(table: string, keys: readonly ForeignKey[], from: (key: ForeignKey) => string, to: (key: ForeignKey) => string): Set<string> {
  const found = new Set<string>();
  const walk = (at: string, depth: number) => {
    if (depth > MAX_CASCADE_DEPTH) return;
    for (const key of keys.filter((k) => from(k) === at && (silentOnDelete(k) || silentOnUpdate(k)))) {
      if (found.has(to(key))) continue;
      found.add(to(key));
      walk(to(key), depth + 1);
    }
  };
  walk(table, 1);
  return found;
}

/**
 * The source database's foreign keys and captured tables, read once for many
 * tables: information_schema's foreign-key views cost milliseconds per read
 * with a thousand tables, too much per table and per drift check.
 */
export interface CascadeGraph {
  keys: ForeignKey[];
  captured: Set<string>;
}

export async function readCascadeGraph(query: Query): Promise<CascadeGraph> {
  return { keys: await readForeignKeys(query), captured: await capturedTableNames(query) };
}

/**
 * The cascade triggers `table` needs now (generateCascadeTriggers), from the
 * foreign keys and the captured tables' shapes as they are (`graph`, or read
 * now); `own`: the table's schema when it is being captured (it counts as captured).
 */
export async function cascadeTriggersOf(
  query: Query,
  table: string,
  readSchema: (table: string) => Promise<TableSchema>,
  own?: TableSchema,
  graph?: CascadeGraph,
): Promise<TriggerDefinition[]> {
  const { keys, captured: capturedNow } = graph ?? (await readCascadeGraph(query));
  if (!keys.some((key) => key.parent === table && (silentOnDelete(key) || silentOnUpdate(key)))) return [];
  const captured = new Set(capturedNow);
  if (own) captured.add(table);
  const schemas = new Map<string, TableSchema>();
  for (const child of cascadeDescendants(table, keys)) {
    if (captured.has(child)) schemas.set(child, child === table && own ? own : await readSchema(child));
  }
  try {
    return generateCascadeTriggers(table, keys, schemas);
  } catch (error) {
    if (error instanceof CascadeTooWideError) throw new CaptureError(error.message);
    throw error;
  }
}

/** A cascade trigger would need more statements than one trigger should run per deleted row. */
export class CascadeTooWideError extends Error {}

/**
 * The BEFORE DELETE and BEFORE UPDATE triggers of `parent` that write, in
 * the writer's transaction, the changes its foreign keys' actions are about
 * to make to captured child rows (issue #17): InnoDB runs those actions
 * inside the statement, after the BEFORE trigger and without firing any
 * trigger of the child, so this is the one moment their rows can still be
 * read. Each child row is read with a locking read (the newest version,
 * locked until the cascade changes it) and written to the outbox as its own
 * trigger would write the change: a delete (ON DELETE CASCADE, through any
 * number of levels and self-references), or an update with the key columns
 * set to NULL (SET NULL) or to the parent's new values (ON UPDATE CASCADE,
 * one level). Deepest rows first, so their seqs come before their parents'.
 * `schemas`: the captured tables (their rows are written; the others are
 * only joined through). Pure.
 *
 * @throws CascadeTooWideError when the paths down the keys need more than MAX_STATEMENTS statements.
 */
export function generateCascadeTriggers(parent: string, keys: readonly ForeignKey[], schemas: ReadonlyMap<string, TableSchema>): TriggerDefinition[] {
  validateIdentifier(parent, 'table');
  const names = cascadeTriggerNames(parent);
  const triggers: TriggerDefinition[] = [];
  const deletes = deleteStatements(parent, keys, schemas);
  if (deletes.length > 0) triggers.push(trigger(names.delete, 'delete', parent, deletes));
  const updates = updateStatements(parent, keys, schemas);
  if (updates.length > 0) triggers.push(trigger(names.update, 'update', parent, updates));
  return triggers;
}

function trigger(name: string, event: 'delete' | 'update', table: string, statements: string[]): TriggerDefinition {
  const body = `BEGIN ${statements.map((statement) => `${statement};`).join(' ')} END`;
  return { name, event, sql: `CREATE OR REPLACE TRIGGER ${quoteMysql(name)} BEFORE ${event.toUpperCase()} ON ${quoteMysql(table)} FOR EACH ROW ${body}`, body };
}

/** One path of foreign keys down from the parent: keys[0]'s parent is the trigger's table. */
type Path = readonly ForeignKey[];

function deleteStatements(parent: string, keys: readonly ForeignKey[], schemas: ReadonlyMap<string, TableSchema>): string[] {
  const statements: string[] = [];
  const walk = (table: string, path: Path) => {
    if (path.length >= MAX_CASCADE_DEPTH) return;
    for (const key of keys.filter((k) => k.parent === table && silentOnDelete(k))) {
      const down = [...path, key];
      // The child's own children first: their rows go before its rows.
      if (key.onDelete === 'CASCADE') walk(key.child, down);
      const schema = schemas.get(key.child);
      if (!schema) continue;
      if (statements.length >= MAX_STATEMENTS) {
        throw new CascadeTooWideError(`the foreign keys below ${parent} cascade along more than ${MAX_STATEMENTS} paths: capture cannot follow them all`);
      }
      statements.push(
        key.onDelete === 'CASCADE'
          ? childChange(schema, down, 'delete', null)
          : childChange(schema, down, 'update', new Map(key.childColumns.map((column) => [column, 'NULL']))),
      );
    }
  };
  walk(parent, []);
  return statements;
}

/** ON UPDATE CASCADE / SET NULL, one level: the child rows whose key columns follow the parent's changed ones. */
function updateStatements(parent: string, keys: readonly ForeignKey[], schemas: ReadonlyMap<string, TableSchema>): string[] {
  const statements: string[] = [];
  for (const key of keys.filter((k) => k.parent === parent && silentOnUpdate(k))) {
    const schema = schemas.get(key.child);
    // InnoDB refuses to cascade an update into the table it updates (it acts as RESTRICT).
    if (!schema || key.child === parent) continue;
    const changed = key.parentColumns.map((column) => `OLD.${quoteMysql(column)} <=> NEW.${quoteMysql(column)}`).join(' AND ');
    const values = new Map(key.childColumns.map((column, i) => [column, key.onUpdate === 'CASCADE' ? `NEW.${quoteMysql(key.parentColumns[i])}` : 'NULL']));
    statements.push(`IF NOT (${changed}) THEN ${childChange(schema, [key], 'update', values)}; END IF`);
  }
  return statements;
}

/**
 * INSERT … SELECT of the change the cascade makes to every row of the
 * path's last table that hangs off the deleted (OLD) parent row: the path's
 * tables joined t1 (the parent's child) … tN, locked FOR UPDATE. `set`: for
 * an update, the columns the action sets and their new values (SQL over the
 * parent's NEW row, or NULL); the key after the change is the update's key,
 * as the child's own trigger writes it.
 */
function childChange(schema: TableSchema, path: Path, op: 'delete' | 'update', set: ReadonlyMap<string, string> | null): string {
  const alias = (level: number) => `t${level}`;
  const last = alias(path.length);
  const keyColumns = schema.key.map((name) => schema.columns.find((column) => column.name === name)!);
  const after = (columns: readonly ColumnSpec[]) => imageExpression(columns, last, set ?? undefined);
  const row: OutboxRowSql = {
    table: sqlString(schema.table),
    op: sqlString(op),
    pk: op === 'delete' ? imageExpression(keyColumns, last) : after(keyColumns),
    before: imageExpression(schema.columns, last),
    after: op === 'delete' ? 'NULL' : after(schema.columns),
    origin: ORIGIN_VARIABLE,
    schemaHash: sqlString(schema.hash),
  };
  const joins = path.map((key, i) => {
    const level = i + 1;
    const on = key.childColumns.map((column, c) => `${alias(level)}.${quoteMysql(column)} = ${level === 1 ? 'OLD' : alias(level - 1)}.${quoteMysql(key.parentColumns[c])}`);
    return { table: `${quoteMysql(key.child)} AS ${alias(level)}`, on: on.join(' AND ') };
  });
  // Deepest table first, joined up to the parent's child, whose condition names the OLD row.
  const from = [...joins].reverse();
  const joined = from.slice(1).map((join, i) => ` JOIN ${join.table} ON ${from[i].on}`);
  // MariaDB refuses FOR UPDATE of the trigger's own table inside its trigger (a self-reference): a shared lock
  // there, which the cascade then upgrades (another transaction holding one too makes a deadlock, retried as any).
  const lock = path.some((key) => key.child === path[0].parent) ? 'LOCK IN SHARE MODE' : 'FOR UPDATE';
  return outboxInsertSelectSql(row, `FROM ${from[0].table}${joined.join('')} WHERE ${from[from.length - 1].on} ${lock}`);
}

function isIdentifier(name: string): boolean {
  try {
    validateIdentifier(name, 'table');
    return true;
  } catch {
    return false;
  }
}

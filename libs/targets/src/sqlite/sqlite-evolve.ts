import { Knex } from 'knex';
import { quoteAnsi, TargetTableSpec } from '@tributary/model';
import { TargetConfigError } from '../errors';
import { sqliteColumnDefinition, sqliteDialect } from './sqlite-sql';
import { changesColumns, ExistingTable, planTableEvolution, Widening } from '../sql/table-evolution';
import { recordTableSteps } from '../sql/table-steps';

const q = quoteAnsi;

/** Something that runs SQL and returns result rows: the knex transaction, or a plain better-sqlite3 reader. */
export type SqliteQuery = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * Brings an existing SQLite table to `spec` (see table-evolution.ts), inside
 * the caller's transaction (SQLite's write lock serialises it with any other
 * writer); `existing` (with the steps it had) read in it. The steps come
 * first, recorded in the same transaction: RENAME COLUMN, which rewrites the
 * column's CHECK (its length) to the new name, and DROP COLUMN (SQLite ≥
 * 3.35), which takes a column with a CHECK of its own. Then columns are added
 * with ADD COLUMN. SQLite cannot drop a NOT NULL constraint in place, so
 * making columns NULL-able rebuilds the table the way the SQLite docs
 * describe (create new, copy, drop, rename) from its own CREATE statement
 * with those NOT NULLs removed: types, CHECKs and data stay; a character
 * column whose length the source widened gets its new definition in the
 * same rebuild.
 */
export async function evolveSqliteTable(trx: Knex.Transaction, spec: TargetTableSpec, existing: ExistingTable): Promise<void> {
  const query = sqliteQuery(trx);
  const { steps } = planTableEvolution(spec, existing, false);
  for (const step of steps) {
    for (const name of step.drop) await trx.raw(`ALTER TABLE ${q(spec.name)} DROP COLUMN ${q(name)}`);
    for (const { from, to } of step.rename) await trx.raw(`ALTER TABLE ${q(spec.name)} RENAME COLUMN ${q(from)} TO ${q(to)}`);
  }
  await recordTableSteps(query, sqliteDialect.tableSteps, spec.name, steps.map((step) => step.id));
  // The widening reads column definitions by name from the CREATE statement: judged on the table the steps left.
  const current = steps.length === 0 ? existing : { ...(await readSqliteTable(query, spec.name)), steps: [...(existing.steps ?? []), ...steps.map((step) => step.id)] };
  const [created] = await query(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, [spec.name]);
  const createSql = String(created?.sql ?? '');
  const evolution = planTableEvolution(spec, current, false, createSql ? sqliteWidening(createSql) : undefined);
  if (!changesColumns(evolution)) return;
  for (const column of evolution.add) {
    // NULL-able even if the spec says NOT NULL: rows already there have no value for it.
    await trx.raw(`ALTER TABLE ${q(spec.name)} ADD COLUMN ${sqliteColumnDefinition(column, false)}`);
  }
  if (evolution.makeNullable.length === 0 && evolution.widen.length === 0) return;
  // Read again: the columns just added are in it now.
  const [latest] = await query(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, [spec.name]);
  let rebuilt = withoutNotNull(String(latest?.sql ?? ''), evolution.makeNullable, spec.name);
  for (const { name, type } of evolution.widen) rebuilt = withDefinition(rebuilt, name, type, spec.name);
  const temporary = `_tributary_rebuild_${spec.name}`;
  await trx.raw(`DROP TABLE IF EXISTS ${q(temporary)}`);
  await trx.raw(rebuilt.replace(/^CREATE TABLE\s+("[^"]+"|\S+)/i, `CREATE TABLE ${q(temporary)}`));
  await trx.raw(`INSERT INTO ${q(temporary)} SELECT * FROM ${q(spec.name)}`);
  await trx.raw(`DROP TABLE ${q(spec.name)}`);
  await trx.raw(`ALTER TABLE ${q(temporary)} RENAME TO ${q(spec.name)}`);
}

/** Runs statements in the caller's transaction. */
export function sqliteQuery(trx: Knex.Transaction): SqliteQuery {
  return async (sql, params) => rowsOf(await trx.raw(sql, params as Knex.RawBinding[]));
}

/**
 * SQLite checks only a character column's length (STRICT storage classes do
 * the rest): a spec column whose length grew, or lost its limit, gets its
 * new definition (`type`: the whole column definition, NOT NULL as it was).
 */
function sqliteWidening(createSql: string): Widening {
  return (existing, column) => {
    const part = columnPart(createSql, existing.name);
    if (part === null) return null;
    const limit = /CHECK \(length\("(?:[^"]|"")+"\) <= (\d+)\)/.exec(part);
    if (!limit) return null;
    const wanted = sqliteColumnDefinition(column, /\bNOT\s+NULL\b/i.test(part));
    const wantedLimit = /CHECK \(length\("(?:[^"]|"")+"\) <= (\d+)\)/.exec(wanted);
    const sameClass = part.trim().split(/\s+/)[1] === wanted.split(/\s+/)[1];
    return sameClass && (wantedLimit === null || Number(wantedLimit[1]) > Number(limit[1])) ? wanted : null;
  };
}

/** The CREATE statement with the named column's definition replaced by `definition`. */
function withDefinition(createSql: string, column: string, definition: string, table: string): string {
  const { head, parts, tail } = splitCreate(createSql, table);
  const at = parts.findIndex((part) => isColumnPart(part, column));
  if (at < 0) throw new TargetConfigError(`target table ${table}: column ${column} not found in its CREATE statement`);
  parts[at] = ` ${definition}`;
  return `${head}${parts.join(',')}${tail}`;
}

function columnPart(createSql: string, column: string): string | null {
  const open = createSql.indexOf('(');
  const close = createSql.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  return splitTopLevel(createSql.slice(open + 1, close)).find((part) => isColumnPart(part, column)) ?? null;
}

function isColumnPart(part: string, column: string): boolean {
  const first = part.trim().split(/\s+/)[0] ?? '';
  return first === q(column) || first === column;
}

function splitCreate(createSql: string, table: string): { head: string; parts: string[]; tail: string } {
  const open = createSql.indexOf('(');
  const close = createSql.lastIndexOf(')');
  if (open < 0 || close < open) throw new TargetConfigError(`target table ${table}: cannot read its CREATE statement to change its columns`);
  return { head: createSql.slice(0, open + 1), parts: splitTopLevel(createSql.slice(open + 1, close)), tail: createSql.slice(close) };
}

/** Columns and primary key of `name` (no columns: no table). */
export async function readSqliteTable(query: SqliteQuery, name: string): Promise<ExistingTable> {
  const info = await query('SELECT name, "notnull" AS not_null, pk FROM pragma_table_info(?) ORDER BY cid', [name]);
  return {
    columns: info.map((row) => ({ name: String(row.name), nullable: Number(row.not_null) === 0 })),
    primaryKey: info
      .filter((row) => Number(row.pk) > 0)
      .sort((a, b) => Number(a.pk) - Number(b.pk))
      .map((row) => String(row.name)),
  };
}

/**
 * The table's CREATE statement with NOT NULL removed from the named columns.
 * Column definitions are split at top-level commas (CHECKs hold parentheses);
 * a table whose definition we cannot read that way is refused, never guessed at.
 */
export function withoutNotNull(createSql: string, columns: readonly string[], table: string): string {
  const { head, parts, tail } = splitCreate(createSql, table);
  for (const name of columns) {
    const at = parts.findIndex((part) => isColumnPart(part, name));
    if (at < 0) throw new TargetConfigError(`target table ${table}: column ${name} not found in its CREATE statement`);
    parts[at] = parts[at].replace(/\s+NOT\s+NULL\b/gi, '');
  }
  return `${head}${parts.join(',')}${tail}`;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function rowsOf(result: unknown): Record<string, unknown>[] {
  return Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
}

import { Knex } from 'knex';
import { quoteAnsi, TargetTableSpec } from '@tributary/model';
import { TargetConfigError } from '../errors';
import { sqliteColumnDefinition, sqliteDialect } from './sqlite-sql';
import { changesColumns, ExistingTable, PlannedStep, planTableEvolution, Widening } from '../sql/table-evolution';
import { recordTableSteps } from '../sql/table-steps';
import { defaultSql } from '../sql/column-defaults';

const q = quoteAnsi;

/** Something that runs SQL and returns result rows: the knex transaction, or a plain better-sqlite3 reader. */
export type SqliteQuery = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * Brings an existing SQLite table to `spec` (see table-evolution.ts), inside
 * the caller's transaction (SQLite's write lock serialises it with any other
 * writer); `existing` (with the steps it had) read in it. The steps come
 * first, recorded in the same transaction: RENAME COLUMN, which rewrites the
 * column's CHECK (its length) to the new name, DROP COLUMN (SQLite ≥ 3.35),
 * which takes a column with a CHECK of its own, and default changes, which
 * SQLite cannot make in place: the table is rebuilt with them. Then columns
 * are added with ADD COLUMN. SQLite cannot drop a NOT NULL constraint in
 * place either, so making columns NULL-able rebuilds the table too. A
 * rebuild is the one the SQLite docs describe (create new, copy, drop,
 * rename), from the table's own CREATE statement with only the named
 * columns' NOT NULL, definition (a character column whose length the
 * source widened) or default changed: types, CHECKs and data stay.
 */
export async function evolveSqliteTable(trx: Knex.Transaction, spec: TargetTableSpec, existing: ExistingTable): Promise<void> {
  const query = sqliteQuery(trx);
  const { steps } = planTableEvolution(spec, existing, false);
  for (const step of steps) await carryOutStep(trx, spec.name, step);
  await recordTableSteps(query, sqliteDialect.tableSteps, spec.name, steps.map((step) => step.id));
  // The widening reads column definitions by name from the CREATE statement: judged on the table the steps left.
  const current = steps.length === 0 ? existing : { ...(await readSqliteTable(query, spec.name)), steps: [...(existing.steps ?? []), ...steps.map((step) => step.id)] };
  const [created] = await query(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, [spec.name]);
  const createSql = String(created?.sql ?? '');
  const evolution = planTableEvolution(spec, current, false, createSql ? sqliteWidening(createSql) : undefined);
  if (!changesColumns(evolution)) return;
  // ADD COLUMN takes a constant default only, never CURRENT_TIMESTAMP: such a column gets it in the rebuild below.
  const timed = evolution.add.filter((column) => column.default?.kind === 'now');
  for (const column of evolution.add) {
    // NULL-able even if the spec says NOT NULL: rows already there have no value for it (with a constant default,
    // they take it, as they did at the source when it added the column).
    await trx.raw(`ALTER TABLE ${q(spec.name)} ADD COLUMN ${sqliteColumnDefinition(column, false, !timed.includes(column))}`);
  }
  if (evolution.makeNullable.length === 0 && evolution.widen.length === 0 && timed.length === 0) return;
  // Edits the CREATE statement as it is now: the columns just added are in it.
  await rebuildTable(trx, spec.name, (createSql) => {
    let rebuilt = withoutNotNull(createSql, evolution.makeNullable, spec.name);
    for (const { name, type } of evolution.widen) rebuilt = withDefinition(rebuilt, name, type, spec.name);
    for (const column of timed) rebuilt = withDefault(rebuilt, column.name, defaultSql('sqlite', column, column.default), spec.name);
    return rebuilt;
  });
}

/** A step's drops, its renames in order, then its default changes, which rebuild the table (after the renames: under the names it gives). */
async function carryOutStep(trx: Knex.Transaction, tableName: string, step: PlannedStep): Promise<void> {
  for (const name of step.drop) await trx.raw(`ALTER TABLE ${q(tableName)} DROP COLUMN ${q(name)}`);
  for (const { from, to } of step.rename) await trx.raw(`ALTER TABLE ${q(tableName)} RENAME COLUMN ${q(from)} TO ${q(to)}`);
  if (step.defaults.length === 0) return;
  await rebuildTable(trx, tableName, (createSql) =>
    step.defaults.reduce((rebuilt, change) => withDefault(rebuilt, change.column, defaultSql('sqlite', change.spec, change.default), tableName), createSql),
  );
}

/**
 * Makes the table again from its CREATE statement as `edit` changes it, in
 * the caller's transaction: create it under another name, copy every row
 * (the columns stay in their order, so SELECT * fills them one to one),
 * drop the old table, give the new one its name.
 */
async function rebuildTable(trx: Knex.Transaction, tableName: string, edit: (createSql: string) => string): Promise<void> {
  const [created] = await sqliteQuery(trx)(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, [tableName]);
  const rebuilt = edit(String(created?.sql ?? ''));
  const temporary = `_tributary_rebuild_${tableName}`;
  await trx.raw(`DROP TABLE IF EXISTS ${q(temporary)}`);
  await trx.raw(rebuilt.replace(/^CREATE TABLE\s+("[^"]+"|\S+)/i, `CREATE TABLE ${q(temporary)}`));
  await trx.raw(`INSERT INTO ${q(temporary)} SELECT * FROM ${q(tableName)}`);
  await trx.raw(`DROP TABLE ${q(tableName)}`);
  await trx.raw(`ALTER TABLE ${q(temporary)} RENAME TO ${q(tableName)}`);
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
    // NOT NULL and the default kept as the table has them: a wider type changes neither.
    const wanted = sqliteColumnDefinition(column, notNullOf(part), false);
    const wantedLimit = /CHECK \(length\("(?:[^"]|"")+"\) <= (\d+)\)/.exec(wanted);
    const sameClass = part.trim().split(/\s+/)[1] === wanted.split(/\s+/)[1];
    return sameClass && (wantedLimit === null || Number(wantedLimit[1]) > Number(limit[1])) ? `${wanted}${defaultOf(part)}` : null;
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
    // Only the constraint: the same words in a default's string or a CHECK stay.
    for (let found = notNullSpan(parts[at]); found; found = notNullSpan(parts[at])) parts[at] = cut(parts[at], found);
  }
  return `${head}${parts.join(',')}${tail}`;
}

/**
 * The CREATE statement with the named column's default replaced by `sql`
 * (null: none). Its old DEFAULT clause, if any, goes wherever it stood.
 */
export function withDefault(createSql: string, column: string, sql: string | null, table: string): string {
  const { head, parts, tail } = splitCreate(createSql, table);
  const at = parts.findIndex((part) => isColumnPart(part, column));
  if (at < 0) throw new TargetConfigError(`target table ${table}: column ${column} not found in its CREATE statement`);
  const found = defaultSpan(parts[at], table);
  parts[at] = `${(found ? cut(parts[at], found) : parts[at]).trimEnd()}${sql === null ? '' : ` DEFAULT ${sql}`}`;
  return `${head}${parts.join(',')}${tail}`;
}

/** Whether the column definition says NOT NULL (as a constraint, not in a string or CHECK). */
function notNullOf(part: string): boolean {
  return notNullSpan(part) !== null;
}

/** The column definition's DEFAULT clause as written (` DEFAULT 'x'`), or nothing. */
function defaultOf(part: string): string {
  const found = defaultSpan(part, '');
  return found ? ` ${part.slice(found.start, found.end)}` : '';
}

interface Span {
  start: number;
  end: number;
}

/** The text of the definition without the span, and the blanks before it. */
function cut(part: string, span: Span): string {
  return part.slice(0, span.start).trimEnd() + part.slice(span.end);
}

function notNullSpan(part: string): Span | null {
  const words = tokens(part);
  const at = words.findIndex((token, i) => /^NOT$/i.test(token.text) && /^NULL$/i.test(words[i + 1]?.text ?? ''));
  return at < 0 ? null : { start: words[at].start, end: words[at + 1].end };
}

/**
 * Where the definition's DEFAULT clause is, with its value: a string, a
 * parenthesised expression, a signed number, a word (CURRENT_TIMESTAMP,
 * NULL) or a blob literal; a constraint name before it too.
 */
function defaultSpan(part: string, table: string): Span | null {
  const words = tokens(part);
  const at = words.findIndex((token) => /^DEFAULT$/i.test(token.text));
  if (at < 0) return null;
  let next = at + 1;
  while (words[next]?.text === '+' || words[next]?.text === '-') next += 1;
  const value = words[next];
  if (!value) throw new TargetConfigError(`target table ${table}: cannot read the DEFAULT of ${JSON.stringify(part.trim())} in its CREATE statement`);
  const blob = /^x$/i.test(value.text) && words[next + 1]?.start === value.end && words[next + 1].text.startsWith("'");
  const named = at >= 2 && /^CONSTRAINT$/i.test(words[at - 2].text);
  return { start: words[named ? at - 2 : at].start, end: blob ? words[next + 1].end : value.end };
}

/** A column definition's top-level tokens: quoted names and strings, parenthesised groups (CHECKs), words, numbers, single characters. */
function tokens(part: string): Array<Span & { text: string }> {
  const found: Array<Span & { text: string }> = [];
  for (let i = 0; i < part.length; ) {
    if (/\s/.test(part[i])) {
      i += 1;
      continue;
    }
    const start = i;
    i = tokenEnd(part, i);
    found.push({ text: part.slice(start, i), start, end: i });
  }
  return found;
}

const WORD = /[A-Za-z_$][A-Za-z0-9_$]*|0[xX][0-9A-Fa-f]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;

function tokenEnd(part: string, start: number): number {
  const ch = part[start];
  if (ch === "'" || ch === '"' || ch === '`' || ch === '[') {
    const close = ch === '[' ? ']' : ch;
    for (let i = start + 1; i < part.length; i++) {
      if (part[i] !== close) continue;
      if (close !== ']' && part[i + 1] === close) i += 1; // doubled: the quote itself
      else return i + 1;
    }
    return part.length;
  }
  if (ch === '(') {
    let depth = 0;
    let quote: string | null = null;
    for (let i = start; i < part.length; i++) {
      const c = part[i];
      if (quote) {
        if (c === quote) quote = null;
      } else if (c === "'" || c === '"' || c === '`') quote = c;
      else if (c === '(') depth += 1;
      else if (c === ')' && --depth === 0) return i + 1;
    }
    return part.length;
  }
  WORD.lastIndex = start;
  return WORD.test(part) ? WORD.lastIndex : start + 1;
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

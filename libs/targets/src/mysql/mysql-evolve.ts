import { Knex } from 'knex';
import { ColumnRename, quoteMysql, TargetTableSpec } from '@tributary/model';
import { TargetConfigError, TransientTargetError } from '../errors';
import { mysqlDialect } from './mysql-sql';
import { RowQuery } from '../sql/sql-target-ops';
import { ExistingTable, isNoop, PlannedStep, planTableEvolution, TableEvolution, Widening } from '../sql/table-evolution';
import { readTableSteps, recordTableSteps } from '../sql/table-steps';
import { isWidening } from '../sql/type-widening';
import { mysqlColumnType } from '../sql/type-mapping';
import { alterDefaultAction, defaultClause } from '../sql/column-defaults';

const q = quoteMysql;

/** ER_BAD_FIELD_ERROR: MySQL 8's CHECK_CONSTRAINTS has no TABLE_NAME column; or a column another process renamed or dropped. */
const UNKNOWN_COLUMN = '1054';
/**
 * What an ALTER planned on a catalogue another process changed since fails
 * with, as a whole: ER_DUP_FIELDNAME (the column was added), ER_BAD_FIELD_ERROR
 * (renamed), ER_CANT_DROP_FIELD_OR_KEY (dropped). Re-read and re-plan.
 */
const CHANGED_MEANWHILE = new Set(['1060', UNKNOWN_COLUMN, '1091']);
const MAX_ATTEMPTS = 5;
/** How long ensureTable waits for another process's ensureTable of the same table (GET_LOCK), in seconds. */
const DDL_LOCK_WAIT_S = 60;
/** The user lock of a table's DDL: per server, so the database's name is in it; hashed to fit the 64 characters a name may have. */
const DDL_LOCK_NAME = "CONCAT('tributary:ddl:', SHA1(CONCAT(DATABASE(), '.', ?)))";

interface ColumnRow {
  tableName: string;
  name: string;
  nullable: string;
  columnType: string;
  dataType: string;
  charset: string | null;
  collation: string | null;
  /** COLUMN_DEFAULT as MariaDB writes it: SQL text ('x', 5, current_timestamp(6)), NULL or 'NULL' for none. */
  columnDefault: string | null;
}

/**
 * Runs `work` on one connection holding a user lock named after the table
 * (GET_LOCK): MySQL's DDL cannot run in a transaction, so this is what
 * serialises ensureTable calls of several processes on one table. Without
 * it two could both read a step as not had and carry it out twice (a swap,
 * done twice, is undone). A connection that dies lets go of the lock; one
 * whose release fails is discarded, which lets go of it too.
 */
export async function withMysqlDdlLock<T>(knex: Knex, tableName: string, work: (query: RowQuery) => Promise<T>): Promise<T> {
  const connection: unknown = await knex.client.acquireConnection();
  const query = mysqlQuery(knex, connection);
  try {
    const [row] = await query(`SELECT GET_LOCK(${DDL_LOCK_NAME}, ?) AS locked`, [tableName, DDL_LOCK_WAIT_S]);
    if (Number(row?.locked) !== 1) {
      throw new TransientTargetError(`mysql target: table ${tableName} stayed locked by another process's ensureTable for ${DDL_LOCK_WAIT_S} s; retrying later`, null);
    }
    try {
      return await work(query);
    } finally {
      await query(`SELECT RELEASE_LOCK(${DDL_LOCK_NAME})`, [tableName]).catch((error: unknown) => {
        (connection as { __knex__disposed?: unknown }).__knex__disposed = error;
      });
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}

/** Statements on the pool, or on one of its connections. */
export function mysqlQuery(knex: Knex, connection?: unknown): RowQuery {
  return async (sql, params) => {
    // DDL goes without parameters: a `?` in it (in an enum member) is no placeholder.
    const raw = params.length > 0 ? knex.raw(sql, params) : knex.raw(sql);
    return mysqlDialect.rows(await (connection === undefined ? raw : raw.connection(connection)));
  };
}

/**
 * Brings an existing MySQL/MariaDB table to `spec` (see table-evolution.ts),
 * holding its DDL lock (withMysqlDdlLock). MySQL's DDL commits on its own,
 * so each step the table has not had is one ALTER TABLE — its drops and
 * renames together, atomic — then one for its default changes, and then its
 * record; last, one more ALTER adds columns, makes them NULL-able or widens
 * them. Each is planned on the catalogue as it is just before it. Making a
 * column NULL-able twice, or setting a default twice, is harmless.
 *
 * A crash between a step's ALTER and its record leaves the step carried out
 * but not had, so the next call judges it again by presence: a drop of a
 * column that is gone and a rename whose `from` is gone and `to` is there
 * are skipped, which makes most steps come out right. A step that names a
 * column its own renames or drops freed — a swap (a→t, b→a, t→b), or a drop
 * of `a` with a rename of `b` to `a` — looks not done and is carried out
 * again: the swap undone, the renamed column dropped. The window is the
 * defaults' ALTER and the one INSERT after the step's ALTER.
 *
 * Processes of a Tributary from before steps take no lock: their ALTER may
 * come between our read and ours, which then fails as a whole
 * (CHANGED_MEANWHILE) and is planned again.
 */
export async function evolveMysqlTable(query: RowQuery, spec: TargetTableSpec): Promise<void> {
  for (let failures = 0; ; ) {
    const { table, columns } = await readMysqlTable(query, spec.name);
    const steps = await readTableSteps(query, mysqlDialect.tableSteps, spec.name);
    const evolution = planTableEvolution(spec, { ...table, steps }, true, mysqlWidening);
    if (isNoop(evolution)) return;
    try {
      if (evolution.steps.length === 0) return await alterColumns(query, spec, evolution, columns);
      await carryOutStep(query, spec.name, evolution.steps[0]);
    } catch (error) {
      if (!CHANGED_MEANWHILE.has(String(mysqlDialect.classify(error).code)) || ++failures >= MAX_ATTEMPTS) throw error;
    }
  }
}

/**
 * One step as one ALTER TABLE, its default changes as a second, then its
 * record (a step with nothing left to do is only recorded). The defaults
 * have an ALTER of their own: in one with the renames, ALTER COLUMN would
 * name columns as they were before it (MariaDB: unknown column), and the
 * step's names are the ones after. SET DEFAULT only changes the catalogue
 * (CURRENT_TIMESTAMP included, MariaDB 10.2 and later).
 */
async function carryOutStep(query: RowQuery, tableName: string, step: PlannedStep): Promise<void> {
  const actions = [
    ...step.drop.map((name) => `DROP COLUMN ${q(name)}`),
    ...simultaneousRenames(step.rename).map(({ from, to }) => `RENAME COLUMN ${q(from)} TO ${q(to)}`),
  ];
  if (actions.length > 0) await query(`ALTER TABLE ${q(tableName)} ${actions.join(', ')}`, []);
  if (step.defaults.length > 0) await query(`ALTER TABLE ${q(tableName)} ${step.defaults.map((change) => alterDefaultAction('mysql', q, change)).join(', ')}`, []);
  await recordTableSteps(query, mysqlDialect.tableSteps, tableName, [step.id]);
}

/**
 * A step's renames, made one after another, as the renames of one ALTER
 * TABLE, which MySQL reads all against the table before it (`a TO b, b TO a`
 * swaps): each column from its first name to its last; a name it had only
 * in between (the `t` of a→t, b→a, t→b) never appears.
 */
export function simultaneousRenames(renames: readonly ColumnRename[]): ColumnRename[] {
  const firstName = new Map<string, string>(); // name after the renames so far → name before the statement
  for (const { from, to } of renames) {
    const first = firstName.get(from) ?? from;
    firstName.delete(from);
    firstName.set(to, first);
  }
  return [...firstName].filter(([last, first]) => last !== first).map(([last, first]) => ({ from: first, to: last }));
}

/** Adds, makes NULL-able and widens columns, in one ALTER TABLE. */
async function alterColumns(query: RowQuery, spec: TargetTableSpec, evolution: TableEvolution, columns: Map<string, ColumnRow>): Promise<void> {
  const json = evolution.makeNullable.some((name) => columns.get(name)?.dataType === 'longtext') ? await jsonCheckedColumns(query, spec.name) : new Set<string>();
  // A wider type holds every value the column has (its character set and collation kept); NULL-able too if planned so.
  const widened = new Map(
    evolution.widen.map(({ name, type, nullable }) => {
      const column = columnRow(columns, name);
      return [name, `${type}${charsetOf(column)} ${nullable ? 'NULL' : 'NOT NULL'}${restatedDefault(column)}`];
    }),
  );
  const actions = [
    // NULL-able even if the spec says NOT NULL: rows already there have no value for it (with a default, they take
    // it, as they did at the source when it added the column).
    ...evolution.add.map((column) => `ADD COLUMN ${q(column.name)} ${mysqlColumnType(column)} NULL${defaultClause('mysql', column)}`),
    ...evolution.makeNullable.filter((name) => !widened.has(name)).map((name) => `MODIFY COLUMN ${q(name)} ${nullableDefinition(spec.name, columnRow(columns, name), json.has(name))}`),
    ...[...widened].map(([name, definition]) => `MODIFY COLUMN ${q(name)} ${definition}`),
  ];
  await query(`ALTER TABLE ${q(spec.name)} ${actions.join(', ')}`, []);
}

/**
 * The column restated as NULL (MODIFY needs the whole definition): its type,
 * character set, collation and default as the catalogue has them. MariaDB
 * keeps JSON as LONGTEXT plus a json_valid check that a plain MODIFY would
 * drop, so such a column is restated as JSON. Known limit: a COMMENT or ON
 * UPDATE of the column, or a default that is an expression, is not
 * restated (tables Tributary creates have none).
 */
function nullableDefinition(table: string, column: ColumnRow, jsonChecked: boolean): string {
  if (jsonChecked || column.dataType === 'json') return `JSON NULL${restatedDefault(column)}`;
  const type = column.columnType.trim();
  // From the target's own catalogue, but still checked before it reaches DDL (invariant 10).
  if (!PLAIN_TYPE.test(type) && !MEMBER_TYPE.test(type)) {
    throw new TargetConfigError(`target table ${table}: column ${column.name} has type ${JSON.stringify(type)}, which cannot be restated to make it NULL-able`);
  }
  return `${type}${charsetOf(column)} NULL${restatedDefault(column)}`;
}

/**
 * The column's default as a MODIFY must restate it (else MODIFY drops it):
 * the catalogue's text when it is one of the forms Tributary gives
 * (column-defaults.ts) as MariaDB writes them — a whole string literal,
 * a number, current_timestamp(n) — so nothing else of the catalogue's text
 * reaches DDL (invariant 10). Any other (an expression of a table made by
 * hand, MySQL 8's unquoted text) is not restated.
 */
export function restatedDefault(column: Pick<ColumnRow, 'columnDefault'>): string {
  const text = column.columnDefault?.trim() ?? null;
  if (text === null || text.toUpperCase() === 'NULL') return '';
  return RESTATABLE_DEFAULT.some((form) => form.test(text)) ? ` DEFAULT ${text}` : '';
}

const RESTATABLE_DEFAULT = [/^'(?:[^'\\]|''|\\.)*'$/s, /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/, /^current_timestamp(\([0-6]?\))?$/i];

/** The column's character set and collation, restated (empty for a type without them). */
function charsetOf(column: ColumnRow): string {
  return column.charset && column.collation ? ` CHARACTER SET ${name(column.charset)} COLLATE ${name(column.collation)}` : '';
}

/** A spec column's MySQL type, when it widens the existing column's (planTableEvolution). */
const mysqlWidening: Widening = (existing, column) => {
  if (column.type === 'json' || column.type === 'enum' || column.type === 'set') return null;
  const wanted = mysqlColumnType(column);
  return existing.type !== undefined && isWidening(existing.type, wanted) ? wanted : null;
};

/** e.g. `varchar(64)`, `decimal(12,2) unsigned zerofill`, `datetime(6)`. */
const PLAIN_TYPE = /^[a-z]+( ?\(\d+(,\d+)?\))?( unsigned)?( zerofill)?$/i;
/** `enum('a','it''s')` / `set(...)`: every member a complete quoted literal, so nothing can end the statement early. */
const MEMBER_TYPE = /^(enum|set)\('(?:[^'\\]|''|\\.)*'(?:,'(?:[^'\\]|''|\\.)*')*\)$/i;

function name(value: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(value)) throw new TargetConfigError(`unexpected character set or collation name ${JSON.stringify(value)}`);
  return value;
}

/** Columns (by name as the table spells them) and primary key of `name` in DATABASE() (no columns: no table). */
export async function readMysqlTable(query: RowQuery, name: string): Promise<{ table: ExistingTable; columns: Map<string, ColumnRow> }> {
  const columnRows = rowsAs<ColumnRow>(
    await query(
      `SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name, IS_NULLABLE AS nullable, COLUMN_TYPE AS columnType,
              DATA_TYPE AS dataType, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, COLUMN_DEFAULT AS columnDefault
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [name],
    ),
  ).filter((row) => row.tableName === name); // information_schema may match names without regard to case
  const keyRows = rowsAs<{ tableName: string; name: string }>(
    await query(
      `SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
      [name],
    ),
  ).filter((row) => row.tableName === name);
  return {
    table: {
      columns: columnRows.map((row) => ({ name: row.name, nullable: row.nullable === 'YES', type: row.columnType })),
      primaryKey: keyRows.map((row) => row.name),
    },
    columns: new Map(columnRows.map((row) => [row.name, { ...row, dataType: row.dataType.toLowerCase() }])),
  };
}

/** MariaDB's JSON columns: LONGTEXT with a `json_valid(`col`)` check. */
async function jsonCheckedColumns(query: RowQuery, table: string): Promise<Set<string>> {
  let rows: { tableName: string; clause: string }[];
  try {
    rows = rowsAs(
      await query(
        `SELECT TABLE_NAME AS tableName, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS
          WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
        [table],
      ),
    );
  } catch (error) {
    if (mysqlDialect.classify(error).code === UNKNOWN_COLUMN) return new Set(); // MySQL 8: JSON is its own type there
    throw error;
  }
  const names = new Set<string>();
  for (const { clause } of rows.filter((row) => row.tableName === table)) {
    const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(clause.trim());
    if (match) names.add(match[1].replace(/``/g, '`'));
  }
  return names;
}

function columnRow(columns: Map<string, ColumnRow>, name: string): ColumnRow {
  const row = columns.get(name);
  if (!row) throw new Error(`column ${name} was planned from the catalogue but is not in it`); // a bug, not a state
  return row;
}

/** Result rows as the shape the SELECT gives them. */
function rowsAs<T>(rows: Record<string, unknown>[]): T[] {
  return rows as T[];
}

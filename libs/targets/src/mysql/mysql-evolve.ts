import { Knex } from 'knex';
import { quoteMysql, TargetTableSpec } from '@tributary/model';
import { TargetConfigError } from '../errors';
import { mysqlDialect } from './mysql-sql';
import { ExistingTable, isNoop, planTableEvolution, Widening } from '../sql/table-evolution';
import { isWidening } from '../sql/type-widening';
import { mysqlColumnType } from '../sql/type-mapping';

const q = quoteMysql;

/** ER_DUP_FIELDNAME: another process added the column between our read and our ALTER. */
const DUPLICATE_COLUMN = '1060';
/** ER_BAD_FIELD_ERROR: MySQL 8's CHECK_CONSTRAINTS has no TABLE_NAME column. */
const UNKNOWN_COLUMN = '1054';
const MAX_ATTEMPTS = 5;

interface ColumnRow {
  tableName: string;
  name: string;
  nullable: string;
  columnType: string;
  dataType: string;
  charset: string | null;
  collation: string | null;
}

/**
 * Brings an existing MySQL/MariaDB table to `spec` (see table-evolution.ts),
 * in one ALTER TABLE. MySQL DDL cannot run in a transaction, so two processes
 * may plan the same change: the loser's ALTER fails with "duplicate column"
 * (1060) as a whole, and it re-reads and re-plans (then usually has nothing
 * left to do). Making a column NULL-able twice is harmless.
 */
export async function evolveMysqlTable(knex: Knex, spec: TargetTableSpec): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { table, columns } = await readMysqlTable(knex, spec.name);
    const evolution = planTableEvolution(spec, table, true, mysqlWidening);
    if (isNoop(evolution)) return;
    const json = evolution.makeNullable.some((name) => columns.get(name)?.dataType === 'longtext') ? await jsonCheckedColumns(knex, spec.name) : new Set<string>();
    // A wider type holds every value the column has (its character set and collation kept); NULL-able too if planned so.
    const widened = new Map(evolution.widen.map(({ name, type, nullable }) => [name, `${type}${charsetOf(columnRow(columns, name))} ${nullable ? 'NULL' : 'NOT NULL'}`]));
    const actions = [
      // NULL-able even if the spec says NOT NULL: rows already there have no value for it.
      ...evolution.add.map((column) => `ADD COLUMN ${q(column.name)} ${mysqlColumnType(column)} NULL`),
      ...evolution.makeNullable.filter((name) => !widened.has(name)).map((name) => `MODIFY COLUMN ${q(name)} ${nullableDefinition(spec.name, columnRow(columns, name), json.has(name))}`),
      ...[...widened].map(([name, definition]) => `MODIFY COLUMN ${q(name)} ${definition}`),
    ];
    try {
      await knex.raw(`ALTER TABLE ${q(spec.name)} ${actions.join(', ')}`);
      return;
    } catch (error) {
      if (mysqlDialect.classify(error).code !== DUPLICATE_COLUMN || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/**
 * The column restated as NULL (MODIFY needs the whole definition): its type,
 * character set and collation as the catalogue has them. MariaDB keeps JSON
 * as LONGTEXT plus a json_valid check that a plain MODIFY would drop, so such
 * a column is restated as JSON. Known limit: a DEFAULT, COMMENT or ON UPDATE
 * of the column is not restated (tables Tributary creates have none).
 */
function nullableDefinition(table: string, column: ColumnRow, jsonChecked: boolean): string {
  if (jsonChecked || column.dataType === 'json') return 'JSON NULL';
  const type = column.columnType.trim();
  // From the target's own catalogue, but still checked before it reaches DDL (invariant 10).
  if (!PLAIN_TYPE.test(type) && !MEMBER_TYPE.test(type)) {
    throw new TargetConfigError(`target table ${table}: column ${column.name} has type ${JSON.stringify(type)}, which cannot be restated to make it NULL-able`);
  }
  return `${type}${charsetOf(column)} NULL`;
}

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
export async function readMysqlTable(knex: Knex, name: string): Promise<{ table: ExistingTable; columns: Map<string, ColumnRow> }> {
  const columnRows = rowsOf<ColumnRow>(
    await knex.raw(
      `SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name, IS_NULLABLE AS nullable, COLUMN_TYPE AS columnType,
              DATA_TYPE AS dataType, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [name],
    ),
  ).filter((row) => row.tableName === name); // information_schema may match names without regard to case
  const keyRows = rowsOf<{ tableName: string; name: string }>(
    await knex.raw(
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
async function jsonCheckedColumns(knex: Knex, table: string): Promise<Set<string>> {
  let rows: { tableName: string; clause: string }[];
  try {
    rows = rowsOf(
      await knex.raw(
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

function rowsOf<T>(result: unknown): T[] {
  return mysqlDialect.rows(result) as T[];
}

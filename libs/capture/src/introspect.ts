import { Knex } from 'knex';
import { reservedTableReason } from '@tributary/db';
import { ColumnDefault, ColumnSpec, LogicalType, TableSchema, quoteMysql, validateIdentifier } from '@tributary/model';
import { parseColumnDefault } from './column-default';
import { CaptureError } from './errors';
import { schemaHash } from './hash';
import { logicalType, parseMembers } from './mysql-types';
import { Query, queryOn } from './sql';

interface ColumnRow {
  tableName: string;
  name: string;
  dataType: string;
  columnType: string;
  isNullable: string;
  charLength: number | string | null;
  numericPrecision: number | string | null;
  numericScale: number | string | null;
  datetimePrecision: number | string | null;
  columnDefault: string | null;
}

interface IndexRow {
  Key_name: string;
  Non_unique: number | string;
  Column_name: string;
}

/**
 * Reads the captured shape of `table` in the current database (DATABASE())
 * from information_schema: every column in ordinal order, and the key that
 * identifies rows (the primary key, else the first unique key whose columns
 * are all NOT NULL).
 *
 * @throws InvalidIdentifierError if `table` (or one of its columns) is not a safe identifier.
 * @throws CaptureError if the table does not exist, is a view, has a column type capture cannot carry, or has no usable key.
 */
export async function introspectTable(knex: Knex, table: string): Promise<TableSchema> {
  return readSchema(queryOn(knex), table);
}

/** introspectTable over any Query, e.g. a connection that holds LOCK TABLES. */
export async function readSchema(query: Query, table: string): Promise<TableSchema> {
  // Tributary's own tables (the outbox would write itself) and its control schema's are never captured.
  const reserved = reservedTableReason(validateIdentifier(table, 'table'));
  if (reserved) throw new CaptureError(`${table} cannot be captured: ${reserved}`);
  return readShape(query, table);
}

/**
 * readSchema without the reserved-name check: the shape capture would see,
 * for a scratch copy of a captured table (probeAlter).
 */
export async function readShape(query: Query, table: string): Promise<TableSchema> {
  validateIdentifier(table, 'table');
  await assertBaseTable(query, table);
  const jsonColumns = await jsonCheckedColumns(query, table);
  const rows = await query<ColumnRow>(
    `SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS isNullable,
            CHARACTER_MAXIMUM_LENGTH AS charLength, NUMERIC_PRECISION AS numericPrecision,
            NUMERIC_SCALE AS numericScale, DATETIME_PRECISION AS datetimePrecision, COLUMN_DEFAULT AS columnDefault
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
      ORDER BY ORDINAL_POSITION`,
    [table],
  );
  const columns = rows.filter((row) => row.tableName === table).map((row) => toColumn(table, row, jsonColumns.has(row.name)));
  const { key, keyKind } = await findKey(query, table, columns);
  return { table, columns, key, keyKind, hash: schemaHash(columns, key) };
}

async function assertBaseTable(query: Query, table: string): Promise<void> {
  const [{ db }] = await query<{ db: string | null }>('SELECT DATABASE() AS db');
  if (db === null) throw new CaptureError(`cannot capture ${table}: the connection has no current database`);
  const rows = await query<{ name: string; type: string }>(
    `SELECT TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  );
  // information_schema may compare names without regard to case; the trigger DDL does not (so every lookup here filters exactly).
  const found = rows.find((row) => row.name === table);
  if (!found) throw new CaptureError(`table ${table} does not exist in database ${db}`);
  if (found.type !== 'BASE TABLE') throw new CaptureError(`${table} is a ${found.type.toLowerCase()}, not a base table; only base tables can be captured`);
}

/** MariaDB stores JSON as LONGTEXT plus a CHECK (json_valid(`col`)); that check is what marks the column as JSON. */
async function jsonCheckedColumns(query: Query, table: string): Promise<Set<string>> {
  const rows = await query<{ tableName: string; clause: string }>(
    `SELECT TABLE_NAME AS tableName, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  );
  const names = new Set<string>();
  for (const { clause } of rows.filter((row) => row.tableName === table)) {
    const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(clause.trim());
    if (match) names.add(match[1].replace(/``/g, '`'));
  }
  return names;
}

function toColumn(table: string, row: ColumnRow, jsonChecked: boolean): ColumnSpec {
  const name = validateIdentifier(row.name, `column of ${table}`);
  const dataType = row.dataType.toLowerCase();
  const type = logicalType(dataType, jsonChecked);
  if (!type) throw new CaptureError(`column ${table}.${name} has type ${row.columnType}, which capture cannot carry`);
  return {
    name,
    type,
    dataType,
    columnType: row.columnType,
    nullable: row.isNullable === 'YES',
    unsigned: /\bunsigned\b/i.test(row.columnType),
    length: lengthOf(type, dataType, row),
    precision: type === 'decimal' ? toNumber(row.numericPrecision) : null,
    scale: type === 'decimal' ? toNumber(row.numericScale) : null,
    fsp: type === 'datetime' || type === 'timestamp' || type === 'time' ? toNumber(row.datetimePrecision) ?? 0 : null,
    members: type === 'enum' || type === 'set' ? parseMembers(row.columnType) : null,
    ...withDefault(parseColumnDefault(row.columnDefault)),
  };
}

/** The default as an optional field: a column without one has no `default` key (recorded schemas stay as they were). */
function withDefault(value: ColumnDefault | undefined): Pick<ColumnSpec, 'default'> {
  return value ? { default: value } : {};
}

const SIZED = new Set(['char', 'varchar', 'binary', 'varbinary']);

function lengthOf(type: LogicalType, dataType: string, row: ColumnRow): number | null {
  if (type === 'bit') return toNumber(row.numericPrecision);
  if (SIZED.has(dataType)) return toNumber(row.charLength);
  return null;
}

function toNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

async function findKey(query: Query, table: string, columns: readonly ColumnSpec[]): Promise<Pick<TableSchema, 'key' | 'keyKind'>> {
  // SHOW INDEX lists indexes in the server's own order (primary, then unique NOT NULL, ...)
  // and each index's columns in key order; information_schema.STATISTICS promises neither.
  const rows = await query<IndexRow>(`SHOW INDEX FROM ${quoteMysql(table)}`);
  const indexes = new Map<string, { unique: boolean; columns: string[] }>();
  for (const row of rows) {
    const index = indexes.get(row.Key_name) ?? { unique: Number(row.Non_unique) === 0, columns: [] };
    index.columns.push(row.Column_name);
    indexes.set(row.Key_name, index);
  }
  const primary = indexes.get('PRIMARY');
  if (primary) return { key: primary.columns, keyKind: 'primary' };
  const notNull = (name: string) => columns.some((column) => column.name === name && !column.nullable);
  for (const index of indexes.values()) {
    if (index.unique && index.columns.every(notNull)) return { key: index.columns, keyKind: 'unique' };
  }
  throw new CaptureError(
    `table ${table} has no primary key or NOT NULL unique key; replication needs one to identify rows (add a PRIMARY KEY)`,
  );
}

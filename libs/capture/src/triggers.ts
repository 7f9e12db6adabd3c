import { ORIGIN_VARIABLE } from '@tributary/db';
import { outboxInsertSql } from '@tributary/outbox';
import { ColumnSpec, Op, TableSchema, quoteMysql, validateIdentifier } from '@tributary/model';
import { CaptureError } from './errors';
import { triggerNames } from './names';
import { sqlString } from './sql';

export interface TriggerDefinition {
  name: string;
  event: Op;
  /** A complete `CREATE OR REPLACE TRIGGER` statement (MariaDB syntax). */
  sql: string;
  /** The statement after FOR EACH ROW, as information_schema.TRIGGERS shows it (ACTION_STATEMENT). */
  body: string;
}

type RowAlias = 'NEW' | 'OLD';

/**
 * The three capture triggers of a table (AFTER INSERT, UPDATE, DELETE). Each
 * writes one outbox row per row change, in the writer's transaction, with
 * images in the wire form that decodeValue (@tributary/model) reads. Pure.
 */
export function generateTriggers(schema: TableSchema, onTable: string = schema.table): TriggerDefinition[] {
  // onTable: the table the triggers are created on, when it is not yet called schema.table (a rename in progress).
  const table = validateIdentifier(schema.table, 'table');
  validateIdentifier(onTable, 'table');
  if (!/^[0-9a-f]{1,32}$/.test(schema.hash)) throw new CaptureError(`schema hash of ${table} must be 1-32 hex digits, got ${JSON.stringify(schema.hash)}`);
  if (schema.key.length === 0) throw new CaptureError(`${table} has no key columns to identify rows`);
  const keyColumns = schema.key.map((name) => {
    const column = schema.columns.find((c) => c.name === name);
    if (!column) throw new CaptureError(`key column ${name} is not a column of ${table}`);
    return column;
  });
  const names = triggerNames(table);
  const bodyFor = (op: Op, key: RowAlias, before: RowAlias | null, after: RowAlias | null): string =>
    triggerBody(schema, op, imageExpression(keyColumns, key), before && imageExpression(schema.columns, before), after && imageExpression(schema.columns, after));
  const create = (name: string, op: Op, body: string): TriggerDefinition => ({
    name,
    event: op,
    sql: `CREATE OR REPLACE TRIGGER ${quoteMysql(name)} AFTER ${op.toUpperCase()} ON ${quoteMysql(onTable)} FOR EACH ROW ${body}`,
    body,
  });
  return [
    create(names.insert, 'insert', bodyFor('insert', 'NEW', null, 'NEW')),
    create(names.update, 'update', bodyFor('update', 'NEW', 'OLD', 'NEW')),
    create(names.delete, 'delete', bodyFor('delete', 'OLD', 'OLD', null)),
  ];
}

function triggerBody(schema: TableSchema, op: Op, pk: string, before: string | null, after: string | null): string {
  return outboxInsertSql([
    { table: sqlString(schema.table), op: sqlString(op), pk, before: before ?? 'NULL', after: after ?? 'NULL', origin: ORIGIN_VARIABLE, schemaHash: sqlString(schema.hash) },
  ]);
}

/**
 * The JSON image of a row in the wire form, for columns read through `row`
 * (NEW or OLD in a trigger, a table alias in a SELECT: copies and verify read
 * rows exactly as the triggers write them), except the `overrides`.
 */
export function imageExpression(columns: readonly ColumnSpec[], row: string, overrides?: ReadonlyMap<string, string>): string {
  // `overrides`: columns whose value is another SQL expression than the row's (a cascade's new values).
  const value = (column: ColumnSpec) => overrides?.get(column.name) ?? `${row}.${quoteMysql(column.name)}`;
  const pairs = columns.map((column) => `${sqlString(validateIdentifier(column.name, 'column'))}, ${wireExpression(column, value(column))}`);
  return `JSON_OBJECT(${pairs.join(', ')})`;
}

/**
 * As text in utf8mb4. JSON_OBJECT refuses to mix some charsets (e.g. utf16
 * with utf8mb4), which would fail the writer's statement; and an explicit
 * charset keeps the body independent of the collation_connection that the
 * trigger stores from the session that created it.
 */
const text = (expression: string): string => `CAST(${expression} AS CHAR CHARACTER SET utf8mb4)`;

/**
 * The SQL expression for one column value inside JSON_OBJECT: the wire form
 * per logical type (see LogicalType and decodeValue). Every function used
 * returns NULL for NULL, so NULL stays JSON null.
 */
export function wireExpression(column: ColumnSpec, ref: string): string {
  switch (column.type) {
    case 'int':
    case 'year':
    case 'double':
      return ref;
    case 'float':
      // A FLOAT prints with 6 significant digits; as a DOUBLE it is its exact float32 value.
      return `CAST(${ref} AS DOUBLE)`;
    case 'bigint':
    case 'decimal':
    case 'date':
    case 'datetime':
    case 'time':
      return text(ref);
    case 'timestamp':
      // Seconds since the epoch read from the stored value, so the writer's time zone cannot leak in.
      return text(`UNIX_TIMESTAMP(${ref})`);
    case 'string':
    case 'enum':
    case 'set':
      return text(ref);
    case 'json':
      // A JSON column would be embedded as a nested document (JSON.parse would round big numbers): keep it as text.
      return text(ref);
    case 'binary':
      // TO_BASE64 wraps lines every 76 characters; the wire form is plain base64. The CAST gives
      // REPLACE one collation whatever the installing connection's collation_connection was.
      return `REPLACE(${text(`TO_BASE64(${ref})`)}, CHAR(10 USING utf8mb4), '')`;
    case 'bit':
      return `BIN(${ref})`;
  }
}

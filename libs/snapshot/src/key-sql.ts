import { ColumnSpec, quoteMysql, Row, TableSchema, Value } from '@tributary/model';

/**
 * SQL over a source table's key, with key values in the decoded forms of
 * @tributary/model (what decodeKey returns). Each value is bound through an
 * expression that compares it the way the index orders the column, so
 * keyset pagination (`key > last ORDER BY key`) neither skips nor repeats a
 * row, and the comparison stays exact where MySQL would otherwise compare a
 * BIGINT or DECIMAL with a string as DOUBLEs.
 */
export interface SqlFragment {
  sql: string;
  bindings: unknown[];
}

export function keyColumns(schema: TableSchema): ColumnSpec[] {
  return schema.key.map((name) => {
    const column = schema.columns.find((c) => c.name === name);
    if (!column) throw new Error(`key column ${name} is not a column of ${schema.table}`);
    return column;
  });
}

/** `ORDER BY` list of the key, ascending. */
export function keyOrder(schema: TableSchema, alias: string): string {
  return keyColumns(schema)
    .map((column) => `${alias}.${quoteMysql(column.name)}`)
    .join(', ');
}

/** Rows whose key sorts after `after` in index order: `(a > ?) OR (a = ? AND b > ?) ...`. */
export function keyAfter(schema: TableSchema, alias: string, after: Row): SqlFragment {
  return keyCompare(schema, alias, after, '>');
}

/** Rows whose key sorts at or before `upTo`. */
export function keyUpTo(schema: TableSchema, alias: string, upTo: Row): SqlFragment {
  return keyCompare(schema, alias, upTo, '<=');
}

function keyCompare(schema: TableSchema, alias: string, key: Row, op: '>' | '<='): SqlFragment {
  const columns = keyColumns(schema);
  const strict = op === '>' ? '>' : '<';
  const terms: string[] = [];
  const bindings: unknown[] = [];
  for (let i = 0; i < columns.length; i++) {
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      parts.push(`${alias}.${quoteMysql(columns[j].name)} = ${bindExpression(columns[j])}`);
      bindings.push(bindValue(columns[j], key[columns[j].name]));
    }
    // The last column takes the inclusive form for <=, so the key itself is in range.
    const last = i === columns.length - 1 && op === '<=' ? '<=' : strict;
    parts.push(`${alias}.${quoteMysql(columns[i].name)} ${last} ${bindExpression(columns[i])}`);
    bindings.push(bindValue(columns[i], key[columns[i].name]));
    terms.push(`(${parts.join(' AND ')})`);
  }
  return { sql: `(${terms.join(' OR ')})`, bindings };
}

/** Rows whose key is one of `keys` (OR of ANDs: indexed for composite keys too). */
export function keyIn(schema: TableSchema, alias: string, keys: readonly Row[]): SqlFragment {
  if (keys.length === 0) return { sql: 'FALSE', bindings: [] };
  const columns = keyColumns(schema);
  const bindings: unknown[] = [];
  if (columns.length === 1) {
    const [column] = columns;
    const marks = keys.map((key) => {
      bindings.push(bindValue(column, key[column.name]));
      return bindExpression(column);
    });
    return { sql: `${alias}.${quoteMysql(column.name)} IN (${marks.join(', ')})`, bindings };
  }
  const terms = keys.map((key) => {
    const parts = columns.map((column) => {
      bindings.push(bindValue(column, key[column.name]));
      return `${alias}.${quoteMysql(column.name)} = ${bindExpression(column)}`;
    });
    return `(${parts.join(' AND ')})`;
  });
  return { sql: `(${terms.join(' OR ')})`, bindings };
}

/** The placeholder for one key value, wrapped so MySQL compares it in the column's own order. */
function bindExpression(column: ColumnSpec): string {
  switch (column.type) {
    case 'bigint':
      return column.unsigned ? 'CAST(? AS UNSIGNED)' : 'CAST(? AS SIGNED)';
    case 'decimal':
      return 'CAST(? AS DECIMAL(65,30))';
    case 'bit':
      return 'CAST(CONV(?, 2, 10) AS UNSIGNED)';
    default:
      return '?';
  }
}

/**
 * ENUM and SET columns sort by their numeric value, but compare with a string
 * as text: bound as numbers, comparison and order agree. Everything else binds
 * as decoded (TIMESTAMPs are UTC text, and Tributary's connections use UTC).
 */
function bindValue(column: ColumnSpec, value: Value | undefined): unknown {
  if (value === undefined || value === null) throw new Error(`key column ${column.name} has no value`);
  if (column.type === 'enum' && typeof value === 'string') {
    const index = (column.members ?? []).indexOf(value);
    if (index < 0) throw new Error(`${column.name}: ${JSON.stringify(value)} is not a member of the enum`);
    return index + 1;
  }
  if (column.type === 'set' && typeof value === 'string') {
    const members = column.members ?? [];
    return value === ''
      ? 0
      : value.split(',').reduce((mask, member) => {
          const index = members.indexOf(member);
          if (index < 0) throw new Error(`${column.name}: ${JSON.stringify(member)} is not a member of the set`);
          return mask + 2 ** index;
        }, 0);
  }
  return value;
}

/** A key as text that survives a round trip through the control schema (Buffers included). */
export function encodeKey(key: Row): string {
  return JSON.stringify(key, (_name, value: unknown) => {
    if (isSerializedBuffer(value)) return { $b64: Buffer.from(value.data).toString('base64') };
    return value;
  });
}

export function decodeKeyText(text: string): Row {
  return JSON.parse(text, (_name, value: unknown) => {
    if (value && typeof value === 'object' && '$b64' in value) return Buffer.from(String((value as { $b64: string }).$b64), 'base64');
    return value;
  }) as Row;
}

/** JSON.stringify hands replacers a Buffer already turned into { type: 'Buffer', data }. */
function isSerializedBuffer(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data);
}

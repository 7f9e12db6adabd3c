import { Knex } from 'knex';
import { imageExpression } from '@tributary/capture';
import { decodeImage, decodeKey, quoteMysql, Row, TableSchema } from '@tributary/model';
import { keyAfter, keyColumns, keyIn, keyOrder, keyUpTo, SqlFragment } from './key-sql';

/** A source row as the triggers would write it: key image and full image, JSON text in the wire form. */
export interface ImageRow {
  pk: string;
  image: string;
}

/** A source row decoded (the value forms of @tributary/model). */
export interface DecodedRow {
  key: Row;
  row: Row;
}

/** A condition on the source table that narrows what is read (a route filter pushed down). */
export type RowCondition = SqlFragment | null;

const ALIAS = '`src`';

/**
 * Reads one captured source table in key order, as images built by the same
 * expressions as its capture triggers: copies and verify see each value
 * exactly as a change record would carry it. Reads are plain (non-locking)
 * unless `lock` is given; each is one short statement.
 */
export class SourceTable {
  private readonly select: string;
  /** The key image and the full image as SQL expressions over the row, utf8mb4 text. */
  private readonly pk: string;
  private readonly image: string;

  constructor(
    private readonly schema: TableSchema,
  ) {
    this.pk = `CAST(${imageExpression(keyColumns(schema), ALIAS)} AS CHAR CHARACTER SET utf8mb4)`;
    this.image = `CAST(${imageExpression(schema.columns, ALIAS)} AS CHAR CHARACTER SET utf8mb4)`;
    this.select = `SELECT ${this.pk} AS pk, ${this.image} AS image FROM ${quoteMysql(schema.table)} AS ${ALIAS}`;
  }

  /**
   * The key of the `size`-th row after `after` (the end of a chunk of that
   * many rows), or null if fewer rows are left: then the chunk runs to the
   * end of the table.
   */
  async chunkEnd(db: Knex | Knex.Transaction, after: Row | null, size: number): Promise<Row | null> {
    const where = after ? keyAfter(this.schema, ALIAS, after) : null;
    const pk = imageExpression(keyColumns(this.schema), ALIAS);
    const [rows] = await db.raw(
      `SELECT CAST(${pk} AS CHAR CHARACTER SET utf8mb4) AS pk FROM ${quoteMysql(this.schema.table)} AS ${ALIAS}` +
        `${where ? ` WHERE ${where.sql}` : ''} ORDER BY ${keyOrder(this.schema, ALIAS)} LIMIT 1 OFFSET ?`,
      [...(where?.bindings ?? []), size - 1] as Knex.RawBinding[],
    );
    const found = rows as Array<{ pk: string }>;
    return found.length > 0 ? decodeKey(this.schema, found[0].pk) : null;
  }

  /** Rows with after < key <= upTo (open ends for null), matching `condition`, in key order. */
  async readRange(
    db: Knex | Knex.Transaction,
    range: { after: Row | null; upTo: Row | null },
    condition: RowCondition = null,
    lock: 'share' | null = null,
  ): Promise<ImageRow[]> {
    const parts: SqlFragment[] = [];
    if (range.after) parts.push(keyAfter(this.schema, ALIAS, range.after));
    if (range.upTo) parts.push(keyUpTo(this.schema, ALIAS, range.upTo));
    if (condition) parts.push(condition);
    return this.query(db, parts, `ORDER BY ${keyOrder(this.schema, ALIAS)}${lock ? ' LOCK IN SHARE MODE' : ''}`);
  }

  /**
   * One statement that reads the rows of readRange, locked (share), and
   * leaves in two user variables how many there were and one text made of
   * `tuple(pk, image)` per row, in key order, joined by `separator` (a
   * character, not a quote or a backslash): the rows never leave the server. `tuple` gets the two SQL expressions and returns an
   * expression (with its own bindings).
   */
  aggregateRange(
    range: { after: Row | null; upTo: Row | null },
    condition: RowCondition,
    tuple: (pk: string, image: string) => SqlFragment,
    into: { count: string; list: string; separator: string },
  ): SqlFragment {
    if (!/^[^'\\]$/u.test(into.separator)) throw new Error(`a separator is one character, not a quote or a backslash: ${JSON.stringify(into.separator)}`);
    const parts: SqlFragment[] = [];
    if (range.after) parts.push(keyAfter(this.schema, ALIAS, range.after));
    if (range.upTo) parts.push(keyUpTo(this.schema, ALIAS, range.upTo));
    if (condition) parts.push(condition);
    const element = tuple(this.pk, this.image);
    return {
      sql:
        `SELECT COUNT(*), GROUP_CONCAT(${element.sql} ORDER BY ${keyOrder(this.schema, ALIAS)} SEPARATOR '${into.separator}') INTO ${into.count}, ${into.list} ` +
        `FROM ${quoteMysql(this.schema.table)} AS ${ALIAS}${parts.length > 0 ? ` WHERE ${parts.map((w) => w.sql).join(' AND ')}` : ''} LOCK IN SHARE MODE`,
      bindings: [...element.bindings, ...parts.flatMap((w) => w.bindings)],
    };
  }

  /** The rows with these keys (absent keys are simply not returned). */
  async readKeys(db: Knex | Knex.Transaction, keys: readonly Row[], lock: 'share' | null = null): Promise<ImageRow[]> {
    if (keys.length === 0) return [];
    return this.query(db, [keyIn(this.schema, ALIAS, keys)], `ORDER BY ${keyOrder(this.schema, ALIAS)}${lock ? ' LOCK IN SHARE MODE' : ''}`);
  }

  /** Approximate row count from the table statistics (cheap; exact enough for progress). */
  async estimateRows(db: Knex): Promise<number> {
    const [rows] = await db.raw('SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [
      this.schema.table,
    ]);
    return Number((rows as Array<{ n: number | null }>)[0]?.n ?? 0);
  }

  decode(row: ImageRow): DecodedRow {
    return { key: decodeKey(this.schema, row.pk), row: decodeImage(this.schema, row.image)! };
  }

  private async query(db: Knex | Knex.Transaction, where: SqlFragment[], tail: string): Promise<ImageRow[]> {
    const sql = `${this.select}${where.length > 0 ? ` WHERE ${where.map((w) => w.sql).join(' AND ')}` : ''} ${tail}`;
    const [rows] = await db.raw(sql, where.flatMap((w) => w.bindings) as Knex.RawBinding[]);
    return rows as ImageRow[];
  }
}

import { quoteMysql } from '@tributary/model';
import { Knex } from 'knex';
import { Query, queryOn } from './sql';

/** What a schema change plan needs to know of a table's columns beyond their captured shape (issue #17). */
export interface ColumnFacts {
  /**
   * Columns that give the rows already in the table a value when added:
   * a DEFAULT other than NULL, or a generated (computed) column. Such an
   * ADD COLUMN changes every row at the source and no trigger sees it.
   */
  filledWhenAdded: Map<string, string>;
  /** The table had at least one row when read. */
  hasRows: boolean;
}

/** readFilledWhenAdded and tableHasRows of one table. */
export async function readColumnFacts(query: Query, table: string): Promise<ColumnFacts> {
  return { filledWhenAdded: await readFilledWhenAdded(query, table), hasRows: await tableHasRows(query, table) };
}

/**
 * The columns of `table` in DATABASE() that an ADD COLUMN fills in every
 * existing row, with what it puts there. MariaDB writes "no default" as SQL
 * NULL and a NULL default as the text 'NULL'; neither fills a row.
 */
export async function readFilledWhenAdded(query: Query, table: string): Promise<Map<string, string>> {
  const rows = await query<{ tableName: string; name: string; defaultValue: string | null; extra: string; nullable: string }>(
    `SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name, COLUMN_DEFAULT AS defaultValue, EXTRA AS extra, IS_NULLABLE AS nullable
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  );
  const filledWhenAdded = new Map<string, string>();
  for (const row of rows.filter((r) => r.tableName === table)) {
    if (/GENERATED/i.test(row.extra) && !/DEFAULT_GENERATED/i.test(row.extra)) filledWhenAdded.set(row.name, 'a generated value');
    else if (row.defaultValue !== null && row.defaultValue !== 'NULL') filledWhenAdded.set(row.name, `its default ${row.defaultValue}`);
    // NOT NULL without a default: MariaDB gives existing rows the type's implicit default (0, '', ...).
    else if (row.nullable === 'NO') filledWhenAdded.set(row.name, "its type's implicit default");
  }
  return filledWhenAdded;
}

export async function tableHasRows(query: Query, table: string): Promise<boolean> {
  const [first] = await query(`SELECT 1 AS one FROM ${quoteMysql(table)} LIMIT 1`);
  return first !== undefined;
}

/** readColumnFacts on a pool (the setup layer's connection to the source). */
export function tableColumnFacts(knex: Knex, table: string): Promise<ColumnFacts> {
  return readColumnFacts(queryOn(knex), table);
}

import { Knex } from 'knex';

/** MariaDB's error when a user lacks the PROCESS privilege that information_schema.INNODB_* tables need. */
const ACCESS_DENIED = 1227;

/** The InnoDB tables' ids cannot be read with this user (no PROCESS privilege). */
export class TableIdsUnreadableError extends Error {
  constructor(cause: unknown) {
    super('the InnoDB table ids cannot be read (the source user needs the PROCESS privilege to see information_schema.INNODB_SYS_TABLES)', { cause });
    this.name = 'TableIdsUnreadableError';
  }
}

/**
 * Each of `tables`' InnoDB table id in the connection's database (absent
 * for a table that does not exist). TRUNCATE TABLE fires no trigger but
 * gives the table a new id, as does any rebuild (OPTIMIZE, a copying ALTER).
 *
 * @throws TableIdsUnreadableError without the PROCESS privilege.
 */
export async function innodbTableIds(knex: Knex, tables: readonly string[]): Promise<Map<string, number>> {
  if (tables.length === 0) return new Map();
  const [[{ db }]] = (await knex.raw('SELECT DATABASE() AS db')) as [Array<{ db: string }>];
  const byName = new Map(tables.map((table) => [innodbName(db, table), table]));
  let rows: Array<{ NAME: string; TABLE_ID: number | string }>;
  try {
    [rows] = (await knex.raw(`SELECT NAME, TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME IN (${tables.map(() => '?').join(', ')})`, [
      ...byName.keys(),
    ])) as [Array<{ NAME: string; TABLE_ID: number | string }>];
  } catch (error) {
    if ((error as { errno?: number }).errno === ACCESS_DENIED) throw new TableIdsUnreadableError(error);
    throw error;
  }
  const ids = new Map<string, number>();
  for (const row of rows) {
    const table = byName.get(row.NAME);
    if (table !== undefined) ids.set(table, Number(row.TABLE_ID));
  }
  return ids;
}

/** InnoDB's name of a table, `database/table`, each character but [0-9A-Za-z_] written as @ and four hex digits. */
export function innodbName(database: string, table: string): string {
  const encode = (name: string) => [...name].map((c) => (/[0-9A-Za-z_]/.test(c) ? c : `@${c.codePointAt(0)!.toString(16).padStart(4, '0')}`)).join('');
  return `${encode(database)}/${encode(table)}`;
}

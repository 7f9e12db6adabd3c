import { Knex } from 'knex';
import { validateIdentifier } from '@tributary/model';
import { queryOn } from './sql';

interface ForeignKeyRow {
  parent: string;
  childSchema: string;
  child: string;
  name: string;
  onDelete: string;
  onUpdate: string;
}

interface KeyColumnRow {
  parent: string;
  childSchema: string;
  child: string;
  name: string;
  column: string;
  referenced: string;
}

/** Referential actions that change child rows inside the server, where no trigger sees them. */
const SILENT_ACTIONS = new Set(['CASCADE', 'SET NULL', 'SET DEFAULT']);

/**
 * Foreign keys that reference `table` (in the current database) with
 * ON DELETE / ON UPDATE CASCADE or SET NULL, as human-readable warnings.
 * MariaDB and MySQL do not fire triggers for rows changed by such actions,
 * so those child-row changes never reach the outbox.
 */
export async function cascadeWarnings(knex: Knex, table: string): Promise<string[]> {
  validateIdentifier(table, 'table');
  const query = queryOn(knex);
  const keys = await query<ForeignKeyRow>(
    `SELECT REFERENCED_TABLE_NAME AS parent, CONSTRAINT_SCHEMA AS childSchema, TABLE_NAME AS child, CONSTRAINT_NAME AS name,
            DELETE_RULE AS onDelete, UPDATE_RULE AS onUpdate
       FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE UNIQUE_CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = ?
      ORDER BY CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME`,
    [table],
  );
  const columns = await query<KeyColumnRow>(
    `SELECT REFERENCED_TABLE_NAME AS parent, CONSTRAINT_SCHEMA AS childSchema, TABLE_NAME AS child, CONSTRAINT_NAME AS name,
            COLUMN_NAME AS \`column\`, REFERENCED_COLUMN_NAME AS referenced
       FROM information_schema.KEY_COLUMN_USAGE
      WHERE REFERENCED_TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = ?
      ORDER BY ORDINAL_POSITION`,
    [table],
  );
  const [{ db }] = await query<{ db: string | null }>('SELECT DATABASE() AS db');
  const warnings: string[] = [];
  // information_schema may compare names without regard to case; table names are not.
  for (const key of keys.filter((row) => row.parent === table)) {
    const actions = [
      SILENT_ACTIONS.has(key.onDelete) ? `ON DELETE ${key.onDelete}` : null,
      SILENT_ACTIONS.has(key.onUpdate) ? `ON UPDATE ${key.onUpdate}` : null,
    ].filter((action): action is string => action !== null);
    if (actions.length === 0) continue;
    const own = columns.filter((c) => c.parent === table && c.childSchema === key.childSchema && c.child === key.child && c.name === key.name);
    const child = key.childSchema === db ? key.child : `${key.childSchema}.${key.child}`;
    warnings.push(
      `foreign key ${key.name} on ${child} (${own.map((c) => c.column).join(', ')}) references ${table} ` +
        `(${own.map((c) => c.referenced).join(', ')}) ${actions.join(' ')}: rows of ${child} changed by it are not captured, ` +
        `because foreign-key actions do not fire triggers`,
    );
  }
  return warnings;
}

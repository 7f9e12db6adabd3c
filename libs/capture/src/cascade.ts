import { Knex } from 'knex';
import { validateIdentifier } from '@tributary/model';
import { CascadeGraph, readCascadeGraph } from './cascade-triggers';
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
 * ON DELETE / ON UPDATE CASCADE or SET NULL whose changes capture does not
 * see, as human-readable warnings. MariaDB and MySQL fire no trigger for
 * rows such actions change; the cascade triggers (cascade-triggers.ts)
 * write those changes for captured child tables, so what is left is a child
 * table that is not captured (yet), a parent table that is not (its
 * trigger writes the child's rows), an ON UPDATE action that cascades on
 * beyond one level, and SET DEFAULT.
 */
export async function cascadeWarnings(knex: Knex, table: string, graph?: CascadeGraph): Promise<string[]> {
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
  const { keys: allKeys, captured } = graph ?? (await readCascadeGraph(query));
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
    const described = `foreign key ${key.name} on ${child} (${own.map((c) => c.column).join(', ')}) references ${table} (${own.map((c) => c.referenced).join(', ')}) ${actions.join(' ')}`;
    if (key.childSchema !== db || !captured.has(key.child)) {
      warnings.push(`${described}: rows of ${child} changed by it are captured only once ${child} is captured too (foreign-key actions fire no triggers)`);
      continue;
    }
    if (key.onDelete === 'SET DEFAULT' || key.onUpdate === 'SET DEFAULT') warnings.push(`${described}: SET DEFAULT is not captured`);
    // ON UPDATE actions are followed one level: a grandchild whose key references the columns the action changes is not.
    const changed = new Set(own.map((c) => c.column));
    const further = SILENT_ACTIONS.has(key.onUpdate) ? allKeys.filter((g) => g.parent === key.child && g.child !== key.child && (g.onUpdate === 'CASCADE' || g.onUpdate === 'SET NULL') && g.parentColumns.some((c) => changed.has(c))) : [];
    for (const next of further) {
      warnings.push(`${described}: rows of ${next.child} that its foreign key ${next.name} changes in turn ON UPDATE ${next.onUpdate} are not captured (ON UPDATE actions are followed one level)`);
    }
  }
  // As a child: the cascade trigger that writes this table's rows lives on the parent, which must be captured too.
  for (const key of allKeys.filter((k) => k.child === table && k.parent !== table && !captured.has(k.parent))) {
    const actions = [SILENT_ACTIONS.has(key.onDelete) ? `ON DELETE ${key.onDelete}` : null, SILENT_ACTIONS.has(key.onUpdate) ? `ON UPDATE ${key.onUpdate}` : null].filter(
      (action): action is string => action !== null,
    );
    if (actions.length === 0) continue;
    warnings.push(
      `foreign key ${key.name} on ${table} (${key.childColumns.join(', ')}) references ${key.parent} (${key.parentColumns.join(', ')}) ${actions.join(' ')}: ` +
        `rows of ${table} changed by it are captured only once ${key.parent} is captured too (foreign-key actions fire no triggers)`,
    );
  }
  return warnings;
}

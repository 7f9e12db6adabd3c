import { isWidening } from '@tributary/targets';
import { ColumnRename, ColumnSpec, describeDefault, sameDefault, TableSchema } from '@tributary/model';
import { sequentialRenames } from '@tributary/replication';
import { InvalidInputError } from '../errors';

/**
 * What a schema change did to a captured table, column by column, and
 * whether the targets can follow it exactly from the changes captured
 * afterwards (issue #17). Pure: the caller reads both shapes and what
 * information_schema cannot show (renames, defaults).
 */

export type ColumnChangeKind = 'added' | 'dropped' | 'renamed' | 'widened' | 'retyped' | 'nullability' | 'default' | 'key';

export interface ColumnChange {
  kind: ColumnChangeKind;
  /** The column's name after the change (before it, for a dropped column). */
  column: string;
  /** In words, e.g. `varchar(20) → varchar(120)`. */
  detail: string;
  /**
   * False when the ALTER itself changed rows the triggers never saw (a
   * retype converts values, an added column with a default fills every
   * row, a new key identifies rows differently): targets match the source
   * again only after a re-sync.
   */
  exact: boolean;
}

export interface SchemaDiff {
  before: TableSchema;
  after: TableSchema;
  /** The renames as steps one after another (sequentialRenames): how targets and route rules follow them. */
  renames: ColumnRename[];
  /** Columns the source dropped (names before the change). */
  dropped: string[];
  changes: ColumnChange[];
}

/** What information_schema cannot show: which columns were renamed, and what an added column put in the rows already there. */
export interface DiffWitness {
  /** As MariaDB applies them, together (columnRenames of @tributary/capture, or what a person says). */
  renames: readonly ColumnRename[];
  /** Columns that give existing rows a value when added, with what (ColumnFacts.filledWhenAdded). */
  filledWhenAdded: ReadonlyMap<string, string>;
  hasRows: boolean;
}

/**
 * @throws InvalidInputError (field `renames`) if a rename does not fit the two shapes: its old name must be
 *   a column before and not after (unless another column was renamed to it), its new name a column after. A
 *   column the new name had before counts as dropped (`DROP COLUMN a, RENAME COLUMN b TO a`).
 */
export function diffSchemas(before: TableSchema, after: TableSchema, witness: DiffWitness): SchemaDiff {
  const beforeColumns = new Map(before.columns.map((column) => [column.name, column]));
  const afterColumns = new Map(after.columns.map((column) => [column.name, column]));
  const renamedTo = new Map<string, string>();
  for (const { from, to } of witness.renames) {
    if (!beforeColumns.has(from)) throw new InvalidInputError(`column ${from} is renamed, but table ${before.table} had no such column`, 'renames');
    if (!afterColumns.has(to)) throw new InvalidInputError(`column ${from} is renamed to ${to}, but table ${after.table} has no column ${to}`, 'renames');
    if (renamedTo.has(from)) throw new InvalidInputError(`column ${from} is renamed twice`, 'renames');
    renamedTo.set(from, to);
  }
  const renamedFrom = new Map([...renamedTo].map(([from, to]) => [to, from]));
  for (const [from, to] of renamedTo) {
    if (afterColumns.has(from) && !renamedFrom.has(from)) throw new InvalidInputError(`column ${from} is renamed to ${to}, but the table still has a column ${from}`, 'renames');
  }

  const changes: ColumnChange[] = [];
  // Gone, or its name taken by a renamed column (`DROP COLUMN a, RENAME COLUMN b TO a`).
  const dropped = before.columns.map((column) => column.name).filter((name) => !renamedTo.has(name) && (!afterColumns.has(name) || renamedFrom.has(name)));
  for (const name of dropped) changes.push({ kind: 'dropped', column: name, detail: `${beforeColumns.get(name)!.columnType} dropped`, exact: true });
  for (const column of after.columns) {
    const origin = renamedFrom.get(column.name) ?? (beforeColumns.has(column.name) ? column.name : null);
    if (origin === null) {
      changes.push(added(column, witness));
      continue;
    }
    if (origin !== column.name) changes.push({ kind: 'renamed', column: column.name, detail: `renamed from ${origin}`, exact: true });
    changes.push(...retyped(beforeColumns.get(origin)!, column));
  }
  const keyAfterRename = before.key.map((name) => renamedTo.get(name) ?? name);
  if (keyAfterRename.join('\0') !== after.key.join('\0')) {
    changes.push({ kind: 'key', column: after.key.join(', '), detail: `key (${before.key.join(', ')}) → (${after.key.join(', ')})`, exact: false });
  }
  const taken = (name: string) => beforeColumns.has(name) || afterColumns.has(name);
  return { before, after, renames: sequentialRenames(witness.renames, taken), dropped, changes };
}

function added(column: ColumnSpec, witness: DiffWitness): ColumnChange {
  const filled = witness.filledWhenAdded.get(column.name);
  const exact = !(filled && witness.hasRows);
  return {
    kind: 'added',
    column: column.name,
    detail: exact
      ? `${column.columnType} added`
      : `${column.columnType} added: the rows already in the table got ${filled} at the source, which no trigger captured`,
    exact,
  };
}

/** The type and nullability changes of one column (kept or renamed). */
function retyped(before: ColumnSpec, after: ColumnSpec): ColumnChange[] {
  const changes: ColumnChange[] = [];
  if (before.columnType !== after.columnType) {
    if (isWidening(before.columnType, after.columnType) || membersAppended(before, after)) {
      changes.push({ kind: 'widened', column: after.name, detail: `${before.columnType} → ${after.columnType}`, exact: true });
    } else {
      changes.push({
        kind: 'retyped',
        column: after.name,
        detail: `${before.columnType} → ${after.columnType}: the source converted the values already there, which no trigger captured`,
        exact: false,
      });
    }
  }
  if (before.nullable !== after.nullable) {
    changes.push({ kind: 'nullability', column: after.name, detail: after.nullable ? 'NOT NULL → NULL' : 'NULL → NOT NULL', exact: true });
  }
  // A default decides no replicated value (rows arrive whole): exact, and carried for whoever writes the target.
  if (!sameDefault(before.default, after.default)) {
    changes.push({ kind: 'default', column: after.name, detail: `default ${describeDefault(before.default)} → ${describeDefault(after.default)}`, exact: true });
  }
  return changes;
}

/** An ENUM or SET with members added at the end: every value keeps its meaning (and its index). */
function membersAppended(before: ColumnSpec, after: ColumnSpec): boolean {
  if (before.type !== after.type || (before.type !== 'enum' && before.type !== 'set') || !before.members || !after.members) return false;
  return after.members.length > before.members.length && before.members.every((member, index) => after.members![index] === member);
}

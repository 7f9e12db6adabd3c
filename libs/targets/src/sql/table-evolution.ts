import { ColumnDefault, ColumnRename, ColumnSpec, isValidIdentifier, TargetTableSpec } from '@tributary/model';
import { TargetConfigError } from '../errors';

/**
 * How an existing target table is brought to a (newer) spec without losing
 * data: when a captured source table changes shape, its changes carry a new
 * schema and the worker calls ensureTable with it. Pure; each SQL target
 * reads its catalogue and runs the DDL itself.
 *
 * Never destructive on its own: a column is never made NOT NULL or retyped
 * to anything narrower (only widened, when the target can say so), and the
 * key is never changed. Columns are dropped or renamed, and their defaults
 * changed, only as the spec's steps say (TargetTableSpec.steps, issue #17),
 * each step once per table.
 */

/** A column of the target table as its catalogue lists it. */
export interface ExistingColumn {
  name: string;
  nullable: boolean;
  /** Its type as the target's catalogue writes it (SQL targets that can widen columns), e.g. `character varying(20)`. */
  type?: string;
}

/** The target table as it is now. */
export interface ExistingTable {
  /** In ordinal order. */
  columns: ExistingColumn[];
  /** Primary key columns in key order; empty if the table has none. */
  primaryKey: string[];
  /**
   * Ids of the steps (TargetTableSpec.steps) the table has had, as the
   * target recorded them; absent: none (a table from before steps existed).
   * A set, not a high-water mark: each source writing the table has steps
   * of its own, which may reach it in any order.
   */
  steps?: number[];
}

/**
 * A step the table has not had, as DDL on the table as the steps before it
 * left it: `drop` first, then `rename` in order (each rename sees the ones
 * before it), then `defaults` on the columns as those leave them. Names of
 * existing columns as the target spells them. Any may be empty (the table
 * was made or changed by hand that way): the step is still recorded as had.
 */
export interface PlannedStep {
  id: number;
  drop: string[];
  rename: ColumnRename[];
  defaults: PlannedDefault[];
}

/** A column's default as a step leaves it (TableStep.defaults), on a column the table has. */
export interface PlannedDefault {
  /** As the target spells it. */
  column: string;
  /** Null: the default is dropped. */
  default: ColumnDefault | null;
  /** The spec column it becomes (its name followed through the later steps), whose type says how the value is written; absent: none (a later step drops it). */
  spec?: ColumnSpec;
}

export interface TableEvolution {
  /** The spec's steps the table has not had, in order; carried out before the rest, which is judged on the table as they leave it. */
  steps: PlannedStep[];
  /** Spec columns the table lacks; always added as NULL-able (rows already there have no value). */
  add: ColumnSpec[];
  /**
   * Existing NOT NULL columns (names as the target spells them) that the
   * spec leaves out, or says are nullable: writes of the spec's rows would
   * fail on them, so they become NULL-able. They keep their data.
   */
  makeNullable: string[];
  /**
   * Existing columns whose type the spec widened at the source (a longer
   * VARCHAR, INT to BIGINT, more DECIMAL digits): retyped at the target, so
   * values that fit the source fit there too. Names as the target spells them.
   */
  widen: Array<{ name: string; type: string; nullable: boolean }>;
}

/**
 * The target type a spec column asks for, when it is a widening of the
 * existing column's (see type-widening.ts); null to keep the column as it is.
 */
export type Widening = (existing: ExistingColumn, column: ColumnSpec) => string | null;

/**
 * Compares the spec with the table as it is.
 *
 * First the steps the table has not had (ExistingTable.steps) are played on
 * its columns, in order. They are judged by presence, so a table that
 * recorded none (made before steps existed) comes out right: a dropped
 * column that is absent is left alone; a rename is made only when its
 * `from` is there and its `to` is not (else it was made, by hand or by a
 * run that did not record it, and is skipped). A renamed key column stays
 * in the key under its new name. A default is changed when the table has
 * the column (set twice, it is the same default). Everything else — the
 * key, columns to add, to make NULL-able, to widen — is judged on the
 * columns as the steps leave them.
 *
 * A column whose type was widened at the source is widened at the target
 * (`widening`, where the target can tell); any other type change keeps the
 * target type (retyping could fail or lose data): values that no longer fit
 * are refused as rows (dead letters).
 *
 * @param caseInsensitive column names compare without regard to case (MySQL does; PostgreSQL, with quoted names, does not).
 * @throws TargetConfigError if the table's primary key is not the spec's key
 *   (a key change needs a re-sync), a step drops a key column, or a column
 *   to change is not a safe identifier.
 */
export function planTableEvolution(spec: TargetTableSpec, existing: ExistingTable, caseInsensitive: boolean, widening?: Widening): TableEvolution {
  const norm = (name: string) => (caseInsensitive ? name.toLowerCase() : name);
  const { steps, table } = playSteps(spec, existing, norm);
  const specKey = new Set(spec.key.map(norm));
  const tableKey = new Set(table.primaryKey.map(norm));
  // Order does not matter to the upserts (ON CONFLICT / ON DUPLICATE KEY match the key as a set).
  if (specKey.size !== tableKey.size || [...specKey].some((name) => !tableKey.has(name))) {
    const shown = table.primaryKey.length > 0 ? `(${table.primaryKey.join(', ')})` : 'none';
    throw new TargetConfigError(
      `target table ${spec.name} has primary key ${shown}, but the route's key is (${spec.key.join(', ')}); ` +
        'a key change needs a re-sync into a new or emptied target table',
    );
  }

  const present = new Set(table.columns.map((column) => norm(column.name)));
  const add = spec.columns.filter((column) => !present.has(norm(column.name)));

  const inSpec = new Map(spec.columns.map((column) => [norm(column.name), column]));
  const makeNullable = table.columns
    .filter((column) => {
      if (column.nullable || tableKey.has(norm(column.name))) return false;
      const wanted = inSpec.get(norm(column.name));
      return wanted === undefined || wanted.nullable;
    })
    .map((column) => {
      // The name comes from the target's catalogue (a table made by hand may have any name); it must be safe to quote.
      if (!isValidIdentifier(column.name)) {
        throw new TargetConfigError(`target table ${spec.name}: column ${JSON.stringify(column.name)} must become NULL-able but is not a safe identifier`);
      }
      return column.name;
    });

  const widen = widening
    ? table.columns.flatMap((column) => {
        const wanted = inSpec.get(norm(column.name));
        const type = wanted ? widening(column, wanted) : null;
        if (type === null) return [];
        if (!isValidIdentifier(column.name)) throw new TargetConfigError(`target table ${spec.name}: column ${JSON.stringify(column.name)} must be widened but is not a safe identifier`);
        return [{ name: column.name, type, nullable: column.nullable || makeNullable.includes(column.name) }];
      })
    : [];

  return { steps, add, makeNullable, widen };
}

/**
 * The spec's steps the table has not had, played in order on its columns:
 * the DDL of each, and the table as they leave it. Names the steps give
 * were validated (validateTableSpec); names of existing columns are the
 * catalogue's, equal to those up to case.
 */
function playSteps(spec: TargetTableSpec, existing: ExistingTable, norm: (name: string) => string): { steps: PlannedStep[]; table: ExistingTable } {
  const had = new Set(existing.steps ?? []);
  let columns = existing.columns;
  let primaryKey = existing.primaryKey;
  const find = (name: string) => columns.find((column) => norm(column.name) === norm(name));
  const steps: PlannedStep[] = [];
  for (const [index, step] of (spec.steps ?? []).entries()) {
    if (had.has(step.id)) continue;
    const drop: string[] = [];
    for (const name of step.dropped) {
      const column = find(name);
      if (!column) continue;
      if (primaryKey.includes(column.name)) {
        // Dropping a key column would change the key: the route must never ask for it.
        throw new TargetConfigError(`target table ${spec.name}: step ${step.id} drops ${column.name}, a column of its primary key`);
      }
      columns = columns.filter((c) => c !== column);
      drop.push(column.name);
    }
    const rename: ColumnRename[] = [];
    for (const { from, to } of step.renamed) {
      const column = find(from);
      if (!column || find(to)) continue;
      columns = columns.map((c) => (c === column ? { ...c, name: to } : c));
      primaryKey = primaryKey.map((name) => (name === column.name ? to : name));
      rename.push({ from: column.name, to });
    }
    const defaults: PlannedDefault[] = [];
    for (const change of step.defaults ?? []) {
      const column = find(change.column);
      if (!column) continue; // dropped since, or never here: a column added later gets the spec's default
      const target = specColumn(spec, index, change.column, norm);
      defaults.push({ column: column.name, default: change.default, ...(target ? { spec: target } : {}) });
    }
    steps.push({ id: step.id, drop, rename, defaults });
  }
  return { steps, table: { columns, primaryKey } };
}

/**
 * The spec column that `name`, as step `index` leaves it, becomes: its
 * name followed through the renames of the steps after it; none if one of
 * them drops it.
 */
function specColumn(spec: TargetTableSpec, index: number, name: string, norm: (name: string) => string): ColumnSpec | undefined {
  let current = name;
  for (const later of (spec.steps ?? []).slice(index + 1)) {
    if (later.dropped.some((dropped) => norm(dropped) === norm(current))) return undefined;
    for (const { from, to } of later.renamed) if (norm(from) === norm(current)) current = to;
  }
  return spec.columns.find((column) => norm(column.name) === norm(current));
}

/**
 * Why an existing table cannot take the spec's rows, as messages; empty if
 * it can (ensureTable would evolve it) or does not exist (`existing` null).
 * What ensureTable would refuse, found before anything is written.
 */
export function tableProblems(spec: TargetTableSpec, existing: ExistingTable | null, caseInsensitive: boolean): string[] {
  if (existing === null) return [];
  try {
    planTableEvolution(spec, existing, caseInsensitive);
    return [];
  } catch (error) {
    if (error instanceof TargetConfigError) return [error.message];
    throw error;
  }
}

/** Whether there is anything to do (a step with no DDL is still to be recorded). */
export function isNoop(evolution: TableEvolution): boolean {
  return evolution.steps.length === 0 && !changesColumns(evolution);
}

/** Whether columns are to be added, made NULL-able or widened (the steps aside). */
export function changesColumns(evolution: TableEvolution): boolean {
  return evolution.add.length > 0 || evolution.makeNullable.length > 0 || evolution.widen.length > 0;
}

/** The ids of every step of the spec: a table made from the spec has had them all. */
export function specStepIds(spec: TargetTableSpec): number[] {
  return (spec.steps ?? []).map((step) => step.id);
}

/**
 * For targets without a catalogue (Redis, HTTP) that record the table as
 * ensureTable saw it: the table after ensureTable(spec), its steps carried
 * out on the recorded columns and remembered with them; or as first
 * created, having had every step of the spec.
 *
 * @throws TargetConfigError as planTableEvolution.
 */
export function evolvedTable(existing: ExistingTable | null, spec: TargetTableSpec): ExistingTable {
  if (existing === null) {
    return {
      columns: spec.columns.map((c) => ({ name: c.name, nullable: c.nullable && !spec.key.includes(c.name) })),
      primaryKey: [...spec.key],
      steps: specStepIds(spec),
    };
  }
  const evolution = planTableEvolution(spec, existing, false);
  const stepped = playSteps(spec, existing, (name) => name).table;
  const nullable = new Set(evolution.makeNullable);
  return {
    primaryKey: stepped.primaryKey,
    columns: [
      ...stepped.columns.map((c) => (nullable.has(c.name) ? { ...c, nullable: true } : c)),
      ...evolution.add.map((c) => ({ name: c.name, nullable: true })),
    ],
    steps: [...(existing.steps ?? []), ...evolution.steps.map((step) => step.id)],
  };
}

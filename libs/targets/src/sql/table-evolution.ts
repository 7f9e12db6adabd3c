import { ColumnSpec, isValidIdentifier, TargetTableSpec } from '@tributary/model';
import { TargetConfigError } from '../errors';

/**
 * How an existing target table is brought to a (newer) spec without losing
 * data: when a captured source table changes shape, its changes carry a new
 * schema and the worker calls ensureTable with it. Pure; each SQL target
 * reads its catalogue and runs the DDL itself.
 *
 * Never destructive: a column is never dropped, made NOT NULL or retyped
 * to anything narrower (only widened, when the target can say so), and the
 * key is never changed.
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
}

export interface TableEvolution {
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
 * A column whose type was widened at the source is widened at the target
 * (`widening`, where the target can tell); any other type change keeps the
 * target type (retyping could fail or lose data): values that no longer fit
 * are refused as rows (dead letters).
 *
 * @param caseInsensitive column names compare without regard to case (MySQL does; PostgreSQL, with quoted names, does not).
 * @throws TargetConfigError if the table's primary key is not the spec's key
 *   (a key change needs a re-sync), or a column to change is not a safe identifier.
 */
export function planTableEvolution(spec: TargetTableSpec, existing: ExistingTable, caseInsensitive: boolean, widening?: Widening): TableEvolution {
  const norm = (name: string) => (caseInsensitive ? name.toLowerCase() : name);
  const specKey = new Set(spec.key.map(norm));
  const tableKey = new Set(existing.primaryKey.map(norm));
  // Order does not matter to the upserts (ON CONFLICT / ON DUPLICATE KEY match the key as a set).
  if (specKey.size !== tableKey.size || [...specKey].some((name) => !tableKey.has(name))) {
    const shown = existing.primaryKey.length > 0 ? `(${existing.primaryKey.join(', ')})` : 'none';
    throw new TargetConfigError(
      `target table ${spec.name} has primary key ${shown}, but the route's key is (${spec.key.join(', ')}); ` +
        'a key change needs a re-sync into a new or emptied target table',
    );
  }

  const present = new Set(existing.columns.map((column) => norm(column.name)));
  const add = spec.columns.filter((column) => !present.has(norm(column.name)));

  const inSpec = new Map(spec.columns.map((column) => [norm(column.name), column]));
  const makeNullable = existing.columns
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
    ? existing.columns.flatMap((column) => {
        const wanted = inSpec.get(norm(column.name));
        const type = wanted ? widening(column, wanted) : null;
        if (type === null) return [];
        if (!isValidIdentifier(column.name)) throw new TargetConfigError(`target table ${spec.name}: column ${JSON.stringify(column.name)} must be widened but is not a safe identifier`);
        return [{ name: column.name, type, nullable: column.nullable || makeNullable.includes(column.name) }];
      })
    : [];

  return { add, makeNullable, widen };
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

/** Whether there is anything to do. */
export function isNoop(evolution: TableEvolution): boolean {
  return evolution.add.length === 0 && evolution.makeNullable.length === 0 && evolution.widen.length === 0;
}

/**
 * For targets without a catalogue (Redis, HTTP) that record the table as
 * ensureTable saw it: the table after ensureTable(spec), or as first created.
 *
 * @throws TargetConfigError as planTableEvolution.
 */
export function evolvedTable(existing: ExistingTable | null, spec: TargetTableSpec): ExistingTable {
  if (existing === null) {
    return { columns: spec.columns.map((c) => ({ name: c.name, nullable: c.nullable && !spec.key.includes(c.name) })), primaryKey: [...spec.key] };
  }
  const evolution = planTableEvolution(spec, existing, false);
  const nullable = new Set(evolution.makeNullable);
  return {
    primaryKey: existing.primaryKey,
    columns: [
      ...existing.columns.map((c) => (nullable.has(c.name) ? { ...c, nullable: true } : c)),
      ...evolution.add.map((c) => ({ name: c.name, nullable: true })),
    ],
  };
}

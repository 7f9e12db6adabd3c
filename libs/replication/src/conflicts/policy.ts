import { ColumnSpec, LogicalType, orList } from '@tributary/model';

/**
 * A route's conflict policy: how a change is checked against the row the
 * target holds now (detection) and what happens when they disagree
 * (resolution). Modelled on SymmetricDS's detection (USE_OLD_DATA,
 * USE_CHANGED_DATA, USE_VERSION / USE_TIMESTAMP) and its built-in resolvers.
 */
export type Resolution = 'source-wins' | 'target-wins' | 'newer-wins' | 'manual' | 'custom';
export type DetectMode = 'all' | 'changed' | 'version';

export interface ConflictPolicy {
  resolution: Resolution;
  /** all: the before image must equal the target row; changed: only on the columns the change changes; version: only `column`. Default all. */
  detect: DetectMode;
  /** Timestamp or version column (a SOURCE column name): required for newer-wins and for detect 'version'. */
  column: string | null;
  /** newer-wins only: merge column by column (default false). */
  merge: boolean;
  /** custom only: the resolver's module name (letters, digits, _ and -, 1-64; loaded by the worker from its CONFLICT_RESOLVERS_DIR). */
  resolver: string | null;
}

/** A refused policy; `path` names the offending field (message `${path}: ${reason}`, like MappingError). */
export class ConflictPolicyError extends Error {
  constructor(
    readonly reason: string,
    readonly path: string | null = null,
  ) {
    super(path ? `${path}: ${reason}` : reason);
    this.name = 'ConflictPolicyError';
  }
}

const RESOLUTIONS: readonly Resolution[] = ['source-wins', 'target-wins', 'newer-wins', 'manual', 'custom'];
const DETECT_MODES: readonly DetectMode[] = ['all', 'changed', 'version'];
const FIELDS = ['resolution', 'detect', 'column', 'merge', 'resolver'] as const;
/** Types whose values have an order a version or timestamp column can use. */
const ORDERED: ReadonlySet<LogicalType> = new Set<LogicalType>(['int', 'bigint', 'decimal', 'float', 'double', 'year', 'date', 'datetime', 'timestamp']);
const RESOLVER_NAME = /^[A-Za-z0-9_-]{1,64}$/;


/**
 * Validates a conflict policy (parsed JSON of unknown shape) against the
 * source table's columns. null/undefined → null: no detection, the newest
 * change wins (the behaviour without a policy).
 *
 * `column` may also be given with other resolutions (a custom resolver may
 * use it); it is checked the same way.
 *
 * @throws ConflictPolicyError naming the field: unknown field, bad type or value, a
 *   column that does not exist or has no order, or a field that does not fit the resolution.
 */
export function parseConflictPolicy(value: unknown, sourceColumns: readonly ColumnSpec[]): ConflictPolicy | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConflictPolicyError(`must be an object with ${orList(FIELDS)}`);
  }
  const input = value as Record<string, unknown>;
  for (const field of Object.keys(input)) {
    if (!(FIELDS as readonly string[]).includes(field)) throw new ConflictPolicyError(`unknown field (expected ${orList(FIELDS)})`, field);
  }

  const resolution = input.resolution;
  if (resolution === undefined) throw new ConflictPolicyError(`required: one of ${orList(RESOLUTIONS)}`, 'resolution');
  if (typeof resolution !== 'string' || !(RESOLUTIONS as readonly string[]).includes(resolution)) {
    throw new ConflictPolicyError(`must be one of ${orList(RESOLUTIONS)}, not ${JSON.stringify(resolution)}`, 'resolution');
  }

  const detect = input.detect ?? 'all';
  if (typeof detect !== 'string' || !(DETECT_MODES as readonly string[]).includes(detect)) {
    throw new ConflictPolicyError(`must be one of ${orList(DETECT_MODES)}, not ${JSON.stringify(detect)}`, 'detect');
  }

  const column = input.column ?? null;
  if (column !== null) {
    if (typeof column !== 'string') throw new ConflictPolicyError('must be a column name', 'column');
    const spec = sourceColumns.find((c) => c.name === column);
    if (!spec) throw new ConflictPolicyError(`unknown column ${JSON.stringify(column)}`, 'column');
    if (!ORDERED.has(spec.type)) {
      throw new ConflictPolicyError(
        `column ${JSON.stringify(column)} is of type ${spec.dataType || spec.type}, which has no order (use a number, decimal, date, datetime or timestamp column)`,
        'column',
      );
    }
  } else if (resolution === 'newer-wins') {
    throw new ConflictPolicyError('required with newer-wins: the timestamp or version column to compare', 'column');
  } else if (detect === 'version') {
    throw new ConflictPolicyError('required with detect "version": the version column to compare', 'column');
  }

  const merge = input.merge ?? false;
  if (typeof merge !== 'boolean') throw new ConflictPolicyError('must be true or false', 'merge');
  if (merge && resolution !== 'newer-wins') throw new ConflictPolicyError('only with newer-wins', 'merge');

  const resolver = input.resolver ?? null;
  if (resolver !== null) {
    if (resolution !== 'custom') throw new ConflictPolicyError('only with custom', 'resolver');
    if (typeof resolver !== 'string' || !RESOLVER_NAME.test(resolver)) {
      throw new ConflictPolicyError(`invalid resolver name ${JSON.stringify(resolver)} (letters, digits, _ or -, 1 to 64)`, 'resolver');
    }
  } else if (resolution === 'custom') {
    throw new ConflictPolicyError('required with custom: the resolver module name', 'resolver');
  }

  return { resolution: resolution as Resolution, detect: detect as DetectMode, column: column as string | null, merge, resolver: resolver as string | null };
}

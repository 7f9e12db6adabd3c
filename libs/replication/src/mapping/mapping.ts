import { ColumnSpec, isValidIdentifier, Op, Row, Value } from '@tributary/model';

/**
 * A route's column mapping, as stored in routes.mapping (JSON). Absent
 * fields mean "as at the source". The target table's name is the route's
 * `targetTable`, not part of the mapping.
 */
export interface RouteMapping {
  /** Only these source columns (the key columns must be among them). */
  include?: string[];
  /** All source columns but these (never a key column). */
  exclude?: string[];
  /** Source column name → target column name. */
  rename?: Record<string, string>;
  /** Columns the target gets that the source does not have. */
  computed?: ComputedColumn[];
}

export interface ComputedColumn {
  name: string;
  value: ComputedValue;
  /**
   * Part of the target's key (after the source key's columns): `source`,
   * `table` or a constant only, never null. A `source` key column is how
   * several sources write one target table (fan-in): their rows can never
   * share a key.
   */
  key?: boolean;
}

/**
 * From a small fixed set, never an expression: `source` (source id), `table`
 * (source table), `change_ts` (capture time, UTC DATETIME(6)), `seq` (outbox
 * id), `op` (insert/update/delete), or a constant.
 */
export type ComputedValue = 'source' | 'table' | 'change_ts' | 'seq' | 'op' | { constant: string | number | boolean | null };

/** What computed columns are made of: the change being applied. */
export interface ChangeContext {
  source: string;
  table: string;
  seq: number;
  op: Op;
  /** Microseconds since the epoch. */
  ts: number;
}

export interface CompiledMapping {
  /** Target table columns: mapped source columns in source order, then computed ones. */
  columns: ColumnSpec[];
  /** The key at the target (renamed). */
  key: string[];
  /** A source row (full image) → the target row. */
  mapRow(row: Row, change: ChangeContext): Row;
  /** A row of source key columns → the key at the target (renamed, and any computed key columns for the change). */
  mapKey(key: Row, change: ChangeContext): Row;
}

/** A mapping that does not fit the table, or is malformed; `path` names the part at fault (e.g. `rename.b`). */
export class MappingError extends Error {
  constructor(
    readonly reason: string,
    readonly path: string | null = null,
  ) {
    super(path ? `${path}: ${reason}` : reason);
    this.name = 'MappingError';
  }
}

const VALUES: ReadonlySet<string> = new Set(['source', 'table', 'change_ts', 'seq', 'op']);

/**
 * Checks a mapping (parsed JSON of unknown shape) against the source
 * table's columns and compiles it. A null or absent mapping is the identity.
 *
 * @throws MappingError: unknown or excluded key column, duplicate or invalid target names, bad shape.
 */
export function compileMapping(mapping: unknown, sourceColumns: readonly ColumnSpec[], sourceKey: readonly string[]): CompiledMapping {
  const spec = parseMapping(mapping);
  const known = new Set(sourceColumns.map((c) => c.name));
  const unknown = (path: string, name: string) => {
    if (!known.has(name)) throw new MappingError(`unknown column ${JSON.stringify(name)}`, path);
  };
  spec.include?.forEach((name, i) => unknown(`include[${i}]`, name));
  spec.exclude?.forEach((name, i) => unknown(`exclude[${i}]`, name));
  for (const name of Object.keys(spec.rename ?? {})) unknown(`rename.${name}`, name);
  if (spec.include && spec.exclude) throw new MappingError('give include or exclude, not both');

  const kept = sourceColumns.filter((c) => (spec.include ? spec.include.includes(c.name) : !(spec.exclude ?? []).includes(c.name)));
  for (const name of sourceKey) {
    if (!kept.some((c) => c.name === name)) {
      throw new MappingError(`key column ${JSON.stringify(name)} cannot be left out (the target needs the key)`, spec.include ? 'include' : 'exclude');
    }
  }
  const targetName = (name: string) => targetColumnName(spec, name);
  const columns: ColumnSpec[] = kept.map((c) => ({ ...c, name: targetName(c.name) }));
  for (const computed of spec.computed ?? []) columns.push(computedSpec(computed));

  const seen = new Set<string>();
  columns.forEach((c) => {
    if (!isValidIdentifier(c.name)) throw new MappingError(`invalid column name ${JSON.stringify(c.name)} (letters, digits, _ or $, at most 64)`, 'rename');
    // PostgreSQL folds nothing (we quote) but MySQL and SQLite compare names case-insensitively.
    const folded = c.name.toLowerCase();
    if (seen.has(folded)) throw new MappingError(`two target columns are named ${JSON.stringify(c.name)}`, 'rename');
    seen.add(folded);
  });

  const pairs = kept.map((c) => [c.name, targetName(c.name)] as const);
  const keyPairs = sourceKey.map((name) => [name, targetName(name)] as const);
  const computed = spec.computed ?? [];
  const computedKey = computed.filter((c) => c.key);
  return {
    columns,
    key: [...keyPairs.map(([, to]) => to), ...computedKey.map((c) => c.name)],
    mapRow(row, change) {
      const out: Row = {};
      for (const [from, to] of pairs) out[to] = row[from] ?? null;
      for (const c of computed) out[c.name] = computedValue(c.value, change);
      return out;
    },
    mapKey(key, change) {
      const out: Row = {};
      for (const [from, to] of keyPairs) out[to] = key[from] ?? null;
      for (const c of computedKey) out[c.name] = computedValue(c.value, change);
      return out;
    },
  };
}

/**
 * The target name of source column `name` under `mapping`. Own keys of
 * rename only: a column named like an Object member (toString, constructor)
 * must not find the prototype's.
 */
export function targetColumnName(mapping: RouteMapping | null | undefined, name: string): string {
  const rename = mapping?.rename;
  return rename && Object.hasOwn(rename, name) ? rename[name] : name;
}

function computedSpec(computed: ComputedColumn): ColumnSpec {
  const base = { name: computed.name, nullable: !computed.key, unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null };
  const value = computed.value;
  if (value === 'source' || value === 'table' || value === 'op') {
    return { ...base, type: 'string', dataType: 'varchar', columnType: 'varchar(64)', length: 64 };
  }
  if (value === 'change_ts') return { ...base, type: 'datetime', dataType: 'datetime', columnType: 'datetime(6)', fsp: 6 };
  if (value === 'seq') return { ...base, type: 'bigint', dataType: 'bigint', columnType: 'bigint(20)' };
  const constant = value.constant;
  if (typeof constant === 'number') {
    return Number.isInteger(constant)
      ? { ...base, type: 'bigint', dataType: 'bigint', columnType: 'bigint(20)' }
      : { ...base, type: 'double', dataType: 'double', columnType: 'double' };
  }
  if (typeof constant === 'boolean') return { ...base, type: 'int', dataType: 'tinyint', columnType: 'tinyint(1)' };
  return { ...base, type: 'string', dataType: 'text', columnType: 'text' };
}

function computedValue(value: ComputedValue, change: ChangeContext): Value {
  switch (value) {
    case 'source': return change.source;
    case 'table': return change.table;
    case 'op': return change.op;
    case 'seq': return String(change.seq);
    case 'change_ts': return microsToUtc(change.ts);
  }
  const constant = value.constant;
  if (typeof constant === 'boolean') return constant ? 1 : 0;
  // bigint values travel as decimal strings (libs/model), doubles as numbers.
  if (typeof constant === 'number' && Number.isInteger(constant)) return String(constant);
  return constant;
}

/** Microseconds since the epoch → 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (the DATETIME(6) canonical form). */
export function microsToUtc(micros: number): string {
  const seconds = Math.floor(micros / 1e6);
  const fraction = String(Math.round(micros - seconds * 1e6)).padStart(6, '0');
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ') + '.' + fraction;
}

/** The mapping's JSON shape, checked field by field (it arrives as whatever JSON a client sent). */
function parseMapping(raw: unknown): RouteMapping {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new MappingError('must be an object with include, exclude, rename or computed');
  const input = raw as Record<string, unknown>;
  for (const field of Object.keys(input)) {
    if (!['include', 'exclude', 'rename', 'computed'].includes(field)) {
      throw new MappingError(`unknown field (expected include, exclude, rename or computed)`, field);
    }
  }
  const names = (field: 'include' | 'exclude'): string[] | undefined => {
    const value = input[field];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new MappingError('must be a list of column names', field);
    return value as string[];
  };
  const rename = input.rename;
  if (rename !== undefined) {
    if (typeof rename !== 'object' || rename === null || Array.isArray(rename)) throw new MappingError('must map source column names to target names', 'rename');
    for (const [from, to] of Object.entries(rename)) {
      if (typeof to !== 'string') throw new MappingError('must be a string', `rename.${from}`);
    }
  }
  return { include: names('include'), exclude: names('exclude'), rename: rename as Record<string, string> | undefined, computed: parseComputed(input.computed) };
}

function parseComputed(raw: unknown): ComputedColumn[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw new MappingError('must be a list of {name, value}', 'computed');
  return raw.map((entry: unknown, i) => {
    const path = `computed[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw new MappingError('must be {name, value}', path);
    const { name, value, key } = entry as { name?: unknown; value?: unknown; key?: unknown };
    if (typeof name !== 'string' || !isValidIdentifier(name)) throw new MappingError(`invalid column name ${JSON.stringify(name)}`, `${path}.name`);
    if (key !== undefined && typeof key !== 'boolean') throw new MappingError('must be true or false', `${path}.key`);
    const column = { name, value: computedValueOf(value, `${path}.value`), ...(key ? { key: true } : {}) };
    if (column.key && !fitsKey(column.value)) {
      throw new MappingError('a key column must be source, table or a constant that is not null (one value per route, the same for every change)', `${path}.key`);
    }
    return column;
  });
}

function computedValueOf(value: unknown, path: string): ComputedValue {
  if (typeof value === 'string' && VALUES.has(value)) return value as ComputedValue;
  if (typeof value === 'object' && value !== null && 'constant' in value) {
    const constant = (value as { constant: unknown }).constant;
    if (constant === null || ['string', 'number', 'boolean'].includes(typeof constant)) return { constant: constant as string | number | boolean | null };
  }
  throw new MappingError(`must be one of source, table, change_ts, seq, op or {"constant": value}`, path);
}

/** A value that names a row's origin once for all its changes (a change-dependent one would make every change a new row). */
function fitsKey(value: ComputedValue): boolean {
  return value === 'source' || value === 'table' || (typeof value === 'object' && value.constant !== null);
}

/** The target name of the mapping's computed key column of value `source`, or null: what lets several sources share a target table. */
export function sourceKeyColumn(mapping: RouteMapping | null | undefined): string | null {
  return mapping?.computed?.find((c) => c.key && c.value === 'source')?.name ?? null;
}

/** Every one of the routes' mappings has the same computed source key column: rows of different sources never share a key. */
export function keyedBySource(mappings: ReadonlyArray<RouteMapping | null | undefined>): boolean {
  const column = sourceKeyColumn(mappings[0]);
  return column !== null && mappings.every((mapping) => sourceKeyColumn(mapping) === column);
}

/**
 * Computed columns whose value comes from the change that last wrote the row
 * (seq, change_ts, op): a row written by a copy and the same row written by a
 * live change differ in them without either being wrong, so verify and
 * conflict detection do not compare them.
 */
const CHANGE_DEPENDENT: ReadonlySet<ComputedValue> = new Set<ComputedValue>(['seq', 'change_ts', 'op']);

/** Names of the mapping's computed columns whose values depend on the change (see CHANGE_DEPENDENT). */
export function changeDependentColumns(mapping: RouteMapping | null | undefined): Set<string> {
  return new Set((mapping?.computed ?? []).filter((c) => typeof c.value === 'string' && CHANGE_DEPENDENT.has(c.value)).map((c) => c.name));
}

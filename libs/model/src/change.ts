import { ColumnDefault, ColumnSpec, Row } from './schema';

export type Op = 'insert' | 'update' | 'delete';

/**
 * One outbox row as the relay reads it and the worker receives it: images are
 * still the JSON text the trigger wrote, so the relay never parses them.
 */
export interface WireChange {
  /** Outbox id: strictly increasing in allocation order (not in commit order). */
  seq: number;
  table: string;
  op: Op;
  /** JSON object text: key column -> value (after image's key, or before's for deletes). */
  pk: string;
  before: string | null;
  after: string | null;
  /** Who wrote the row: null for an application, else the name Tributary set (invariant 6). */
  origin: string | null;
  /** Microseconds since the epoch when the change was captured. */
  ts: number;
  /** Hash of the captured column list (TableSchema.hash). */
  schema: string;
  /**
   * A row of a copy chunk (one outbox row holding many copied rows): its seq
   * is shared with the chunk's other rows, which differ by key. Unset for
   * every other change, whose seq is its own.
   */
  chunkRow?: true;
}

/**
 * Origin of the change records an initial copy, re-sync or repair writes into
 * the outbox for one route: the relay delivers them to that route only, and
 * the worker applies them as "the source row is now this" (or, for a delete,
 * "the source has no such row"), whatever the route's filter says of the
 * change. Never equal to an echo origin ('tributary:<source>').
 */
export const COPY_ORIGIN_PREFIX = 'tributary-copy:';

export function copyOrigin(routeId: string): string {
  return COPY_ORIGIN_PREFIX + routeId;
}

/** The route a copy record is for, or null for an ordinary change. */
export function copyRouteOf(origin: string | null): string | null {
  return origin !== null && origin.startsWith(COPY_ORIGIN_PREFIX) ? origin.slice(COPY_ORIGIN_PREFIX.length) : null;
}

/** What the origin of Tributary's own writes at a MySQL target starts with (invariant 6). */
export const APPLIED_ORIGIN_PREFIX = 'tributary:';

/**
 * The origin Tributary's own writes carry at a MySQL target, for a change
 * from source `databaseId` written there by an application (invariant 6):
 * the session variable a worker sets there, which that database's triggers
 * record when it is also a source.
 */
export function echoOriginOf(databaseId: string): string {
  return APPLIED_ORIGIN_PREFIX + databaseId;
}

/**
 * The databases a change has been applied at before the one whose outbox
 * holds it, in order, the first where it was made: empty for an
 * application's write (or a copy record). `tributary:a,b` at c: made at a,
 * applied at b, then at c.
 */
export function originPath(origin: string | null): string[] {
  return origin !== null && origin.startsWith(APPLIED_ORIGIN_PREFIX) ? origin.slice(APPLIED_ORIGIN_PREFIX.length).split(',') : [];
}

/**
 * The origin a change read from source `sourceId` carries where a worker
 * applies it: its path so far plus the source, so a database that passes it
 * on again (a ring, a star) never sends it back to one that has it
 * (routeWants). For an application's write, echoOriginOf(sourceId).
 */
export function forwardedOrigin(origin: string | null, sourceId: string): string {
  return APPLIED_ORIGIN_PREFIX + [...originPath(origin), sourceId].join(',');
}

/** What decides whether an outbox row is for a route: its table, where it came from, whom a copy is for. */
export interface RouteSelector {
  routeId: string;
  table: string;
  /** The route's target database: a change that was applied there (on its path) is never sent back to it. */
  targetId: string;
  /**
   * Only the application's own writes (origin null) and the route's copy
   * records: nothing Tributary applied at the source is passed on. What
   * keeps all-to-all replication among three or more databases to one hop
   * per change.
   */
  localOnly?: boolean;
  /**
   * The names the route's table was captured under, by outbox position
   * (issue #17, table renames): a row is the table's when its name is the
   * one the table had at its seq. Absent: `table` at every position.
   */
  names?: TableNameSpan[];
}

/**
 * A name a captured table had for a stretch of its outbox rows: those with
 * after < seq <= through (through null: still its name). A table renamed at
 * outbox position S wrote its old name up to S and its new one after; a new
 * table that takes the old name later is another table (its rows are > S).
 */
export interface TableNameSpan {
  table: string;
  after: number;
  through: number | null;
}

/** Whether the row (by its table name and seq) is of the route's table. */
export function isRouteTable(row: { table: string; seq: number }, route: Pick<RouteSelector, 'table' | 'names'>): boolean {
  if (!route.names) return row.table === route.table;
  return route.names.some((span) => span.table === row.table && row.seq > span.after && (span.through === null || row.seq <= span.through));
}

/** A captured table renamed: its rows up to outbox position `at` carry `from`, later ones `to`. */
export interface TableRenameEvent {
  from: string;
  to: string;
  at: number;
}

/**
 * The stretches of outbox positions each name of the table now called
 * `table` covers, newest first, from its source's table renames. Walking
 * back: the last rename that involves the name before the stretch ends
 * either gave the table that name (go on with its old name) or took the
 * name from another table (this table's rows start after it). Null when no
 * rename involves `table`: the name alone decides.
 */
export function tableNameSpans(table: string, renames: readonly TableRenameEvent[]): TableNameSpan[] | null {
  const spans: TableNameSpan[] = [];
  let name = table;
  let through: number | null = null;
  for (;;) {
    const bound: number | null = through;
    const last: TableRenameEvent | null = renames
      .filter((rename) => (rename.to === name || rename.from === name) && (bound === null || rename.at < bound))
      .reduce<TableRenameEvent | null>((latest, rename) => (latest === null || rename.at > latest.at ? rename : latest), null);
    if (last === null && spans.length === 0) return null;
    spans.push({ table: name, after: last?.at ?? 0, through });
    if (last === null || last.to !== name) return spans;
    name = last.from;
    through = last.at;
  }
}

/**
 * True when the outbox row belongs to the route: a change of its table that
 * was never applied at its target (two-way replication, rings and stars
 * without loops: originPath), no other route's copy record, and for a
 * local-only route nothing Tributary applied at the source. The relay and
 * the worker decide with this one function (and its SQL twin, routeRows of
 * @tributary/outbox), so they cannot disagree on what a route's changes are.
 */
export function routeWants(row: { table: string; seq: number; origin: string | null }, route: RouteSelector): boolean {
  if (!isRouteTable(row, route)) return false;
  const copyRoute = copyRouteOf(row.origin);
  if (copyRoute !== null) return copyRoute === route.routeId;
  if (route.localOnly) return row.origin === null;
  return !originPath(row.origin).includes(route.targetId);
}

/** The table a route writes at a target, after mapping. */
export interface TargetTableSpec {
  /** Target table name (validated identifier). */
  name: string;
  columns: ColumnSpec[];
  /** Key columns, a subset of `columns`: the target table's primary key. */
  key: string[];
  /**
   * The source schema changes this table follows by renaming or dropping
   * columns (issue #17), oldest first: every step recorded for the route
   * up to the schema of the changes being applied. ensureTable carries out
   * each step the table has not had yet, once; a table it creates is made
   * as the spec says and counts every step as had. Absent: none.
   */
  steps?: TableStep[];
}

/** A column renamed (names as the target table spells them). */
export interface ColumnRename {
  from: string;
  to: string;
}

/**
 * One schema change at the source, as one route's target table follows it:
 * target column names, after the route's mapping. `dropped` first, then
 * `renamed` in order (an ALTER may drop `a` and rename `b` to `a`).
 */
export interface TableStep {
  /** Unique across every table and source (the control schema's id): a target table remembers which steps it had. */
  id: number;
  /** Columns to drop (the route keeps no dropped columns). */
  dropped: string[];
  renamed: ColumnRename[];
  /**
   * Column defaults set (or, null, dropped) after the drops and renames;
   * only ones SQL targets can carry (never an `expression`). Setting a
   * default changes no row. Absent: none.
   */
  defaults?: ColumnDefaultChange[];
}

/** A column's default as a step leaves it (target column name; null: no default). */
export interface ColumnDefaultChange {
  column: string;
  default: ColumnDefault | null;
}

/**
 * The spec with each column's default as its steps last left it: a worker
 * may hold a schema read before a default changed (defaults are not in the
 * schema hash), and a table it creates counts every step as had.
 */
export function withStepDefaults(spec: TargetTableSpec): TargetTableSpec {
  const last = new Map<string, ColumnDefault | null>();
  for (const step of spec.steps ?? []) for (const change of step.defaults ?? []) last.set(change.column, change.default);
  if (last.size === 0) return spec;
  const columns = spec.columns.map((column) => {
    if (!last.has(column.name)) return column;
    const value = last.get(column.name);
    const { default: _old, ...rest } = column;
    return value ? { ...rest, default: value } : rest;
  });
  return { ...spec, columns };
}

/** One change as a target applies it: images decoded and mapped to the target table. */
export interface RowChange {
  seq: number;
  op: Op;
  /** The row's key after the change (before it, for deletes). */
  key: Row;
  /** Full before image (update, delete) or null. */
  before: Row | null;
  /** Full after image (insert, update) or null. */
  after: Row | null;
  /**
   * Only for a change Tributary applied at its source (forwardedOrigin): the
   * origin its write carries at a MySQL target, in place of ApplyBatch.origin,
   * so that database passes it on to no database it has been at.
   */
  origin?: string;
  /** When the source captured it (µs since the epoch, the source's clock); absent where unknown. */
  ts?: number;
  /** A row of an initial copy, re-sync or repair ("the source row is now this", or "has none"), not a write of the application. */
  copy?: boolean;
}

import { Row } from './schema';

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
}

/** A change with its images decoded to typed values (see LogicalType). */
export interface ChangeRecord {
  seq: number;
  source: string;
  table: string;
  op: Op;
  pk: Row;
  before: Row | null;
  after: Row | null;
  origin: string | null;
  ts: number;
  schema: string;
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

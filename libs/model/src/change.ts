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

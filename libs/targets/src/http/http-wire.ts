import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ColumnSpec, LogicalType, routeOfFeed, Row, RowChange, TargetTableSpec, Value } from '@tributary/model';

/**
 * The HTTP target's wire format, shared by the target and by receivers
 * (the test receiver included). JSON-safe values: the canonical forms of
 * LogicalType, with binary as base64 text (BIGINT and DECIMAL are already
 * strings, so no digit is lost in any JSON parser).
 */

export const SIGNATURE_HEADER = 'X-Tributary-Signature';

/** One change as delivered. */
export interface WireRowChange {
  seq: number;
  op: RowChange['op'];
  key: Record<string, JsonValue>;
  before: Record<string, JsonValue> | null;
  after: Record<string, JsonValue> | null;
  /**
   * `<route>:<seq>:<key digest>`: the same change of the same row always
   * carries the same key, so a receiver can drop redeliveries. The row's key
   * is in it because the rows of one initial-copy chunk share a seq, and the
   * route (not a partition's feed) because a key-moving update reaches every
   * partition of a partitioned route.
   */
  idempotencyKey: string;
}

export type JsonValue = string | number | null;

/** The body of one POST: a batch, or one change of it (see HttpTarget). */
export interface WireBatch {
  routeId: string;
  /** The target table: name, key columns, and each column's name, logical type and nullability. */
  table: { name: string; key: string[]; columns: { name: string; type: LogicalType; nullable: boolean; length: number | null }[] };
  /** Every change of the route with seq <= watermark has been delivered (in this request or earlier). */
  watermark: number;
  /** True when dead letters are retried: a change whose seq equals the row's last seq applies again. */
  reapply: boolean;
  /** Who is writing (invariant 6), e.g. 'tributary:<source>': a receiver that writes to a captured database marks its writes with it, so they do not loop back. */
  origin: string;
  changes: WireRowChange[];
}

/**
 * What a receiver may answer with a 2xx (all optional): counts of row writes
 * after the receiver's own seq guard, as ApplyResult has them. Without them,
 * every change counts as applied.
 */
export interface WireAck {
  applied?: number;
  skipped?: number;
  superseded?: number[];
}

/** `sha256=<hex HMAC-SHA256 of the raw body>` with the shared secret. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of a signature header against the raw body. */
export function verifySignature(secret: string, body: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function toWireBatch(
  routeId: string,
  table: TargetTableSpec,
  watermark: number,
  reapply: boolean,
  origin: string,
  changes: readonly RowChange[],
): WireBatch {
  return {
    routeId,
    origin,
    table: {
      name: table.name,
      key: table.key,
      columns: table.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable, length: c.length })),
    },
    watermark,
    reapply,
    changes: changes.map((c) => ({
      seq: c.seq,
      op: c.op,
      key: toWireRow(c.key),
      before: c.before && toWireRow(c.before),
      after: c.after && toWireRow(c.after),
      idempotencyKey: changeIdempotencyKey(routeId, c),
    })),
  };
}

/** WireRowChange.idempotencyKey of a change of `routeId` (a route, or a partition's feed). */
export function changeIdempotencyKey(routeId: string, change: RowChange): string {
  return `${routeOfFeed(routeId)}:${change.seq}:${digest(JSON.stringify(toWireRow(change.key)))}`;
}

/**
 * The Idempotency-Key header of one POST: its feed, seq range and a digest of
 * its changes' keys, so two requests of different rows never share one (a
 * copy chunk's rows share a seq and may span requests).
 */
export function requestIdempotencyKey(routeId: string, changes: readonly RowChange[]): string {
  const keys = changes.map((change) => changeIdempotencyKey(routeId, change)).join('\n');
  return `${routeId}:${changes[0].seq}-${changes[changes.length - 1].seq}:${digest(keys)}`;
}

/** 16 hex digits of the SHA-1: enough to tell apart what shares a route and seq. */
function digest(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

export function toWireRow(row: Row): Record<string, JsonValue> {
  const wire: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(row)) wire[name] = Buffer.isBuffer(value) ? value.toString('base64') : value;
  return wire;
}

/** A wire value back in its canonical form (binary from base64). */
export function fromWireValue(column: Pick<ColumnSpec, 'type'>, value: JsonValue | undefined): Value {
  if (value === null || value === undefined) return null;
  return column.type === 'binary' ? Buffer.from(String(value), 'base64') : value;
}

export function fromWireRow(columns: readonly Pick<ColumnSpec, 'name' | 'type'>[], wire: Record<string, JsonValue>): Row {
  const row: Row = {};
  for (const column of columns) if (column.name in wire) row[column.name] = fromWireValue(column, wire[column.name]);
  return row;
}

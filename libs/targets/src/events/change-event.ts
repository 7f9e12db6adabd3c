import { createHash } from 'node:crypto';
import { crc32, originPath, routeOfFeed, Row, RowChange } from '@tributary/model';
import { changeIdempotencyKey, JsonValue, toWireRow } from '../http/http-wire';
import { ApplyBatch } from '../target';

/**
 * The change event a message broker target publishes, one per row change
 * (issue #18). Versioned: `v` changes only when a field changes meaning or
 * goes away; fields may be added within a version. Values are the HTTP
 * target's canonical JSON forms (http-wire.ts: BIGINT and DECIMAL as
 * strings, binary as base64), after the route's filter and mapping.
 */
export interface ChangeEvent {
  v: 1;
  /** `<route>:<seq>:<key digest>`: the same change of the same row always has the same id (the brokers' de-duplication key). */
  id: string;
  /** The source database (its id in Tributary). */
  source: string;
  /** The table as the route writes it (its target table: the source table's name unless the route maps it). */
  table: string;
  /** The captured source table. */
  sourceTable: string;
  route: string;
  op: RowChange['op'];
  /** A row of an initial copy, re-sync or repair: insert "the row is now this", delete "there is no such row". */
  copy: boolean;
  /**
   * The change's position in its source's outbox. Per key, a later change
   * has a higher seq: a consumer applies an event only if its seq is higher
   * than the last one it applied for the key, which also drops duplicates.
   */
  seq: number;
  /** Capture time at the source, µs since the epoch (null where unknown). */
  ts: number | null;
  /** The source schema the change was captured with. */
  schema: string | null;
  key: Record<string, JsonValue>;
  before: Record<string, JsonValue> | null;
  after: Record<string, JsonValue> | null;
}

export const CHANGE_EVENT_VERSION = 1;

/**
 * The events of one change of a batch, in publish order. An update that
 * moves its row to another key is two: first a delete event of the key it
 * left (the update's before image, seq, capture time and copy flag; its id
 * the one a delete of that key at that seq has), then the update on its new
 * key. So every key's subject tells the whole story of that key (a consumer
 * of one bucket or one key learns that the row left), a consumer that folds
 * events by `key` needs no rule for moves, and it is what every other target
 * writes for such an update: a delete and an upsert.
 */
export function changeEvents(batch: ApplyBatch, change: RowChange): ChangeEvent[] {
  const own = changeEvent(batch, change);
  if (change.op !== 'update' || !change.before) return [own];
  const left = keyOf(batch.table, change.before);
  if (JSON.stringify(toWireRow(left)) === JSON.stringify(own.key)) return [own];
  return [changeEvent(batch, { ...change, op: 'delete', key: left, after: null }), own];
}

/** The event of one change of a batch (of a key-moving update: its own, on the new key; see changeEvents). */
export function changeEvent(batch: ApplyBatch, change: RowChange): ChangeEvent {
  return {
    v: CHANGE_EVENT_VERSION,
    id: changeIdempotencyKey(batch.routeId, change),
    source: batch.source?.id ?? sourceOfOrigin(batch.origin),
    table: batch.table.name,
    sourceTable: batch.source?.table ?? batch.table.name,
    route: routeOfFeed(batch.routeId),
    op: change.op,
    copy: change.copy === true,
    seq: change.seq,
    ts: change.ts ?? null,
    schema: batch.source?.schemaHash ?? null,
    key: toWireRow(keyOf(batch.table, change.key)),
    before: change.before && toWireRow(change.before),
    after: change.after && toWireRow(change.after),
  };
}

/**
 * Where an event is published: `<prefix>.<source>.<table>.<bucket>.<key>`
 * (a NATS subject; a RabbitMQ topic routing key). A consumer takes a table
 * with `<prefix>.<source>.<table>.>` (`.#` in RabbitMQ), a share of its keys
 * with one bucket (`….<table>.3.>`), one key with the full subject. The
 * bucket is CRC-32 of the key's JSON text modulo `buckets`; a key always
 * has one subject, so per-key order is the publish order.
 */
export function eventSubject(prefix: string, event: Pick<ChangeEvent, 'source' | 'table' | 'key'>, buckets: number): string {
  const text = JSON.stringify(event.key);
  const bucket = crc32(Buffer.from(text, 'utf8')) % buckets;
  return `${prefix}.${subjectToken(event.source)}.${subjectToken(event.table)}.${bucket}.${keyToken(event.key)}`;
}

/** Longest key token kept readable; longer keys become a digest (a RabbitMQ routing key holds 255 bytes). */
const MAX_KEY_TOKEN = 120;

/**
 * The key as one subject token: its values in key order joined by `,`, each
 * percent-encoded outside [A-Za-z0-9_-] (so no `.`, `*`, `>`, `#` or space),
 * an empty one as `~empty`, NULL as `~null`; a long key as `~` and 32 hex
 * digits of its SHA-1.
 */
export function keyToken(key: Record<string, JsonValue>): string {
  const token = Object.values(key)
    .map((value) => (value === null ? '~null' : encodeToken(String(value))))
    .join(',');
  return token.length <= MAX_KEY_TOKEN ? token : `~${createHash('sha1').update(JSON.stringify(key)).digest('hex').slice(0, 32)}`;
}

/** A name as a subject token (source ids and table names are identifiers, but a `$` is encoded too). */
export function subjectToken(name: string): string {
  return encodeToken(name);
}

/** What an empty text becomes: a subject has no empty tokens, and no value gives `~` (it is encoded). */
export const EMPTY_TOKEN = '~empty';

function encodeToken(text: string): string {
  if (text === '') return EMPTY_TOKEN;
  return text.replace(/[^A-Za-z0-9_-]/g, (ch) =>
    [...Buffer.from(ch, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** The key's columns in the table's key order (one key, one subject), or the row's own when the table names none. */
function keyOf(table: ApplyBatch['table'], row: Row): Row {
  if (table.key.length === 0) return row;
  return Object.fromEntries(table.key.map((name) => [name, row[name] ?? null]));
}

/** The source of a batch without BatchSource: its origin `tributary:<path>` ends with it (echoOriginOf, forwardedOrigin). */
function sourceOfOrigin(origin: string): string {
  const path = originPath(origin);
  return path[path.length - 1] ?? '';
}

import { Row, RowChange, TargetTableSpec } from '@tributary/model';
import { ChangeEvent, changeEvents, EMPTY_TOKEN, eventSubject, subjectToken } from '../events/change-event';
import { toWireRow } from '../http/http-wire';
import { ApplyBatch, RejectedChange } from '../target';

/** Header carrying ChangeEvent.v, readable without parsing the payload. */
export const EVENT_VERSION_HEADER = 'Tributary-Event-Version';

/** One message of a batch: an event and where it goes. */
export interface OutgoingEvent {
  change: RowChange;
  /**
   * `change`: the change's own event, on its key's subject. `left`: for an
   * update that moves its row to another key, a delete of the key it left,
   * on that key's subject (see outgoingEvents).
   */
  role: 'change' | 'left';
  event: ChangeEvent;
  subject: string;
  payload: Buffer;
}

export interface SubjectSettings {
  subjectPrefix: string;
  buckets: number;
}

/**
 * The messages of a batch's changes, in batch order (a key-moving update is
 * two: changeEvents), and the changes no message can carry (larger than
 * `maxBytes` with its headers): those become dead letters, never a silent
 * drop. `changes` must be valid (planBatch found no fault: every image they
 * use has the key columns).
 */
export function outgoingEvents(
  batch: ApplyBatch,
  changes: readonly RowChange[],
  settings: SubjectSettings,
  maxBytes: number,
): { messages: OutgoingEvent[]; refused: RejectedChange[] } {
  const messages: OutgoingEvent[] = [];
  const refused: RejectedChange[] = [];
  for (const change of changes) {
    const events = changeEvents(batch, change);
    const ofChange = events.map((event, index): OutgoingEvent => ({
      change,
      role: index < events.length - 1 ? 'left' : 'change',
      event,
      subject: eventSubject(settings.subjectPrefix, event, settings.buckets),
      payload: Buffer.from(JSON.stringify(event), 'utf8'),
    }));
    const problem = ofChange.map((message) => tooLarge(message, maxBytes)).find((text) => text !== null);
    if (problem) refused.push({ change, reason: problem, code: null });
    else messages.push(...ofChange);
  }
  return { messages, refused };
}

/** The subject of `key` (target key columns, in any order) of `table` from `source`: eventSubject's. */
export function keySubject(settings: SubjectSettings, source: string, table: TargetTableSpec, key: Row): string {
  const ordered = Object.fromEntries(table.key.map((name) => [name, key[name] ?? null]));
  return eventSubject(settings.subjectPrefix, { source, table: table.name, key: toWireRow(ordered) }, settings.buckets);
}

export { EMPTY_TOKEN };

/** Every subject of a table's events, from any source: `<prefix>.*.<table>.>`. */
export function tableFilter(subjectPrefix: string, tableName: string): string {
  return `${subjectPrefix}.*.${subjectToken(tableName)}.>`;
}

/**
 * Whether one of a stream's subject filters takes every subject the target
 * publishes on: `<prefix>.<source>.<table>.<bucket>.<key>`, the prefix and
 * four tokens of any value. A filter covers them if it matches the prefix
 * token by token (`*` matching any one) and then ends in `>` or in exactly
 * four `*` tokens. (Several filters that cover them only together, one per
 * source say, are not recognised: give the stream `<prefix>.>`.)
 */
export function streamCovers(filters: readonly string[], subjectPrefix: string): boolean {
  const wanted = [...subjectPrefix.split('.'), '*', '*', '*', '*'];
  return filters.some((filter) => covers(filter.split('.'), wanted));
}

function covers(filter: readonly string[], wanted: readonly string[]): boolean {
  for (let i = 0; i < filter.length; i += 1) {
    if (filter[i] === '>') return i < wanted.length; // `>` needs at least one token left
    if (i >= wanted.length) return false;
    // A literal covers only the same literal: a `*` we publish on is any token.
    if (filter[i] !== '*' && filter[i] !== wanted[i]) return false;
  }
  return filter.length === wanted.length;
}

/**
 * The headers every message carries besides those the client adds for the
 * de-duplication id and the publish expectations.
 */
export function eventHeaders(event: ChangeEvent): [string, string][] {
  return [
    [EVENT_VERSION_HEADER, String(event.v)],
    ['Content-Type', 'application/json'],
  ];
}

/**
 * Room kept for the headers the client adds: `Nats-Msg-Id` (the event id,
 * and a reapply suffix), `Nats-Expected-Stream` and
 * `Nats-Expected-Last-Subject-Sequence`, names and values.
 */
const CLIENT_HEADER_BYTES = 512;

/**
 * The bytes a message takes against the server's max_payload, which counts
 * headers and payload (a client sending more is disconnected by the server,
 * so this is checked before publishing).
 */
export function messageBytes(message: OutgoingEvent): number {
  const own = eventHeaders(message.event).reduce((sum, [name, value]) => sum + Buffer.byteLength(`${name}: ${value}\r\n`), 0);
  return message.payload.length + Buffer.byteLength('NATS/1.0\r\n\r\n') + own + Buffer.byteLength(message.event.id) + CLIENT_HEADER_BYTES;
}

function tooLarge(message: OutgoingEvent, maxBytes: number): string | null {
  const bytes = messageBytes(message);
  if (bytes <= maxBytes) return null;
  return `the change event is ${bytes} bytes with its headers, more than the NATS server takes in one message (max_payload ${maxBytes} bytes)`;
}




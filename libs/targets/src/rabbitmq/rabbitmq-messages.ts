import { RowChange } from '@tributary/model';
import { ChangeEvent, changeEvents, eventSubject } from '../events/change-event';
import { ApplyBatch, RejectedChange } from '../target';

/** The AMQP `type` property of a change event: a consumer can tell events from anything else in the stream. */
export const CHANGE_MESSAGE_TYPE = 'tributary.change';
/** Header carrying ChangeEvent.v, readable without parsing the body. */
export const EVENT_VERSION_HEADER = 'tributary-event-version';
/** AMQP 0-9-1 routing keys are short strings. */
const MAX_ROUTING_KEY_BYTES = 255;

/** Where and how one event is published. */
export interface OutgoingMessage {
  change: RowChange;
  routingKey: string;
  body: Buffer;
  properties: {
    messageId: string;
    contentType: 'application/json';
    type: string;
    appId: 'tributary';
    persistent: true;
    /** A message no queue takes comes back (basic.return) instead of vanishing: the batch is retried. */
    mandatory: true;
    headers: Record<string, number>;
  };
}

export interface RoutingSettings {
  routingPrefix: string;
  buckets: number;
}

/**
 * The messages of a batch's changes, in the order given (a key-moving
 * update is two: changeEvents), and the changes no message can carry
 * (larger than `maxBytes`, or a routing key over 255 bytes): those become
 * dead letters, never a silent drop.
 */
export function outgoingMessages(
  batch: ApplyBatch,
  changes: readonly RowChange[],
  routing: RoutingSettings,
  maxBytes: number,
): { messages: OutgoingMessage[]; refused: RejectedChange[] } {
  const messages: OutgoingMessage[] = [];
  const refused: RejectedChange[] = [];
  for (const change of changes) {
    const ofChange = changeEvents(batch, change).map((event) => messageOf(change, event, routing));
    const problem = ofChange.map((message) => tooLarge(message, maxBytes)).find((text) => text !== null);
    if (problem) refused.push({ change, reason: problem, code: null });
    else messages.push(...ofChange);
  }
  return { messages, refused };
}

function messageOf(change: RowChange, event: ChangeEvent, routing: RoutingSettings): OutgoingMessage {
  return {
    change,
    routingKey: eventSubject(routing.routingPrefix, event, routing.buckets),
    body: Buffer.from(JSON.stringify(event), 'utf8'),
    properties: {
      messageId: event.id,
      contentType: 'application/json',
      type: CHANGE_MESSAGE_TYPE,
      appId: 'tributary',
      persistent: true,
      mandatory: true,
      headers: { [EVENT_VERSION_HEADER]: event.v },
    },
  };
}

function tooLarge(message: OutgoingMessage, maxBytes: number): string | null {
  if (message.body.length > maxBytes) {
    return `the change event is ${message.body.length} bytes, more than the broker takes in one message (${maxBytes} bytes: option maxMessageBytes or the broker's max_message_size)`;
  }
  const key = message.routingKey;
  if (Buffer.byteLength(key, 'utf8') > MAX_ROUTING_KEY_BYTES) return `the routing key ${key.slice(0, 80)}… is longer than AMQP's ${MAX_ROUTING_KEY_BYTES} bytes (shorten option routingPrefix)`;
  return null;
}

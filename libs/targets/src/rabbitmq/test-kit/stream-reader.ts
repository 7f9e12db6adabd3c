import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import { Row, TargetTableSpec } from '@tributary/model';
import { ChangeEvent } from '../../events/change-event';
import { fromWireRow, JsonValue } from '../../http/http-wire';
import { compareByKey } from '../../row-order';
import { CHANGE_MESSAGE_TYPE } from '../rabbitmq-messages';

/** The `type` of the marker a reader writes into the stream to know where "everything so far" ends. */
export const MARKER_TYPE = 'tributary.test-marker';

/** One message of a stream queue as a consumer receives it. */
export interface StreamMessage {
  offset: number;
  routingKey: string;
  properties: amqp.MessageProperties;
  content: Buffer;
}

/**
 * Reads a stream queue as a consumer would (tests only): over its own
 * connection, a fresh channel per read, consuming from the first offset on
 * the first read and from the offset after the last one read afterwards
 * (a consumer that remembers its offset). AMQP 0-9-1 cannot say where a
 * stream ends, so each read first sends a marker straight to the queue
 * (default exchange) and reads until that marker: everything confirmed
 * before it lies before it in the stream.
 */
export class StreamReader {
  private connection: amqp.ChannelModel | null = null;
  /** The next offset to read; null: from the first. */
  private next: number | null = null;
  private readonly fold = new EventFold();

  constructor(
    private readonly url: string,
    private readonly queue: string,
  ) {}

  /** The messages added to the stream since the last read (every one on the first), markers left out. */
  async readNew(): Promise<StreamMessage[]> {
    const connection = await this.connect();
    const marker = `marker-${randomUUID()}`;
    const sender = await connection.createConfirmChannel();
    sender.sendToQueue(this.queue, Buffer.from('{}'), { type: MARKER_TYPE, messageId: marker });
    await sender.waitForConfirms();
    await sender.close();
    const channel = await connection.createChannel();
    try {
      // A stream consumer must have a prefetch, and ack (the acks only give credit: nothing is removed).
      await channel.prefetch(1000);
      return await this.consumeUntil(channel, marker);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** The table's rows as a consumer folding every event by the seq rule holds them (see EventFold). */
  async readRows(table: TargetTableSpec, recordedColumns: string[] | null = null): Promise<Row[]> {
    for (const message of await this.readNew()) {
      if (message.properties.type === CHANGE_MESSAGE_TYPE) this.fold.add(JSON.parse(message.content.toString('utf8')) as ChangeEvent);
    }
    return this.fold.rows(table, recordedColumns);
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (!connection) return;
    // Its close may never settle if the socket died first: the close event ends the wait too.
    const closed = new Promise<void>((resolve) => connection.once('close', () => resolve()));
    await Promise.race([connection.close().catch(() => undefined), closed]);
  }

  private async connect(): Promise<amqp.ChannelModel> {
    if (!this.connection) {
      this.connection = await amqp.connect(this.url);
      this.connection.on('error', () => undefined);
    }
    return this.connection;
  }

  private consumeUntil(channel: amqp.Channel, marker: string): Promise<StreamMessage[]> {
    const from = this.next;
    const messages: StreamMessage[] = [];
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => finish(new Error(`no marker in stream ${this.queue} within 60 s`)), 60_000);
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(messages);
      };
      channel.on('error', (error: Error) => finish(error));
      const onMessage = (message: amqp.ConsumeMessage | null) => {
        if (done) return;
        if (!message) return finish(new Error(`the consumer of ${this.queue} was cancelled`));
        channel.ack(message);
        const offset = Number(message.properties.headers?.['x-stream-offset']);
        // A stream consumer may be given the start of the chunk holding its offset: skip what was read.
        if (from !== null && offset < from) return;
        if (message.properties.type === MARKER_TYPE) {
          if (message.properties.messageId !== marker) return;
          this.next = offset + 1;
          return finish();
        }
        messages.push({ offset, routingKey: message.fields.routingKey, properties: message.properties, content: message.content });
      };
      const offset = from === null ? 'first' : { '!': 'long', value: from };
      channel.consume(this.queue, onMessage, { noAck: false, arguments: { 'x-stream-offset': offset } }).catch((error: unknown) => finish(error as Error));
    });
  }
}

interface KeyState {
  seq: number;
  /** The row's columns as events gave them (wire forms); null: deleted. */
  row: Record<string, JsonValue> | null;
}

/**
 * What a consumer keeps: per table and key, the last applied seq and the
 * row. The consumer rule: an event applies only if its seq is higher than
 * the key's last applied one (so copies and replays are dropped, and a
 * delete's seq keeps older inserts out). An update's after image is merged
 * into the row (an image without a column leaves it as it was); an update
 * that moves its key also deletes the old key, guarded by that key's seq.
 */
export class EventFold {
  private readonly tables = new Map<string, Map<string, KeyState>>();

  add(event: ChangeEvent): void {
    const keys = this.table(event.table);
    const names = Object.keys(event.key);
    const id = identity(names, event.key);
    const current = keys.get(id);
    if (current && current.seq >= event.seq) return;
    if (event.op === 'delete' || !event.after) {
      keys.set(id, { seq: event.seq, row: null });
      return;
    }
    if (event.op === 'update' && event.before) {
      const left = identity(names, event.before);
      const old = keys.get(left);
      if (left !== id && (!old || old.seq < event.seq)) keys.set(left, { seq: event.seq, row: null });
    }
    keys.set(id, { seq: event.seq, row: { ...(current?.row ?? {}), ...event.after } });
  }

  /** The rows held, decoded with the spec's columns (missing ones NULL), in key order; a column the table no longer has is refused. */
  rows(table: TargetTableSpec, recordedColumns: string[] | null = null): Row[] {
    const unknown = recordedColumns ? table.columns.filter((c) => !recordedColumns.includes(c.name)).map((c) => c.name) : [];
    if (unknown.length > 0) throw new Error(`table ${table.name} has no column ${unknown.join(', ')}`);
    const rows: Row[] = [];
    for (const state of this.tables.get(table.name)?.values() ?? []) {
      if (!state.row) continue;
      const row = fromWireRow(table.columns, state.row);
      for (const column of table.columns) row[column.name] ??= null;
      rows.push(row);
    }
    return rows.sort(compareByKey(table.key));
  }

  private table(name: string): Map<string, KeyState> {
    let keys = this.tables.get(name);
    if (!keys) this.tables.set(name, (keys = new Map()));
    return keys;
  }
}

function identity(names: readonly string[], row: Record<string, JsonValue>): string {
  return JSON.stringify(names.map((name) => row[name] ?? null));
}

import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import { RowChange, TargetTableSpec } from '@tributary/model';
import { TargetOptionError, TargetUrlError, TransientTargetError } from '../errors';
import { columnSpec } from '../test-kit/target.contract';
import { ApplyBatch } from '../target';
import { BrokerLink, Connect, errorText, refusedSizeLimit } from './rabbitmq-broker';
import { OutgoingMessage, outgoingMessages } from './rabbitmq-messages';
import { checkBrokerUrl, DEFAULT_MAX_MESSAGE_BYTES, rabbitMqTargetOptions } from './rabbitmq-options';
import { RabbitMqTarget } from './rabbitmq.target';

const table: TargetTableSpec = {
  name: 'items',
  columns: [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('name', 'string', 'varchar(2000)')],
  key: ['id'],
};
const insert = (seq: number, id: number, name = 'x'): RowChange => ({ seq, op: 'insert', key: { id }, before: null, after: { id, name } });
const batchOf = (changes: RowChange[]): ApplyBatch => ({ routeId: 'r1', table, changes, watermark: 9, origin: 'tributary:shop', source: { id: 'shop', table: 'items', schemaHash: 'h' } });
const routing = { routingPrefix: 'p', buckets: 4 };

describe('RabbitMQ target options and URL', () => {
  it('has defaults, and refuses unknown options and bad values naming the rule', () => {
    expect(rabbitMqTargetOptions(undefined)).toEqual({
      exchange: 'tributary',
      streamQueue: 'tributary',
      routingPrefix: 'tributary',
      buckets: 16,
      maxInFlight: 1000,
      streamMaxAge: null,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      connectTimeoutMs: 10_000,
      timeoutMs: 30_000,
    });
    expect(rabbitMqTargetOptions({ streamQueue: null, streamMaxAge: '7D', routingPrefix: 'a.b-c_d' })).toMatchObject({ streamQueue: null, streamMaxAge: '7D', routingPrefix: 'a.b-c_d' });
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [{ exchnage: 'x' }, /unknown option exchnage \(known: exchange, streamQueue, /],
      [{ exchange: 'amq.topic' }, /option exchange must be .* not start with amq\./],
      [{ exchange: '' }, /option exchange must be/],
      [{ streamQueue: 'has space' }, /option streamQueue must be/],
      [{ routingPrefix: 'a.#' }, /option routingPrefix must be tokens/],
      [{ routingPrefix: 'a..b' }, /option routingPrefix must be tokens/],
      [{ routingPrefix: 'x'.repeat(65) }, /option routingPrefix .* at most 64/],
      [{ buckets: 0 }, /option buckets must be an integer from 1 to 1024/],
      [{ buckets: 1025 }, /option buckets/],
      [{ maxInFlight: 1.5 }, /option maxInFlight must be an integer from 1 to 65535/],
      [{ streamMaxAge: '7 days' }, /option streamMaxAge must be a number and a unit/],
      [{ maxMessageBytes: 1024 ** 3 }, /option maxMessageBytes must be an integer from 1024 to 536870912/],
      [{ timeoutMs: 0 }, /option timeoutMs/],
    ];
    for (const [options, message] of refused) {
      expect(() => rabbitMqTargetOptions(options)).toThrow(TargetOptionError);
      expect(() => rabbitMqTargetOptions(options)).toThrow(message);
    }
  });

  it('takes amqp and amqps URLs, shows them without credentials, and refuses others', () => {
    const url = checkBrokerUrl('amqps://user:p%40ss@broker.example:5671/prod?heartbeat=30');
    expect(url.shown).toBe('amqps://broker.example:5671/prod');
    expect(url.secrets).toEqual(['p%40ss', 'p@ss']);
    expect(checkBrokerUrl('amqp://localhost').secrets).toEqual([]);
    for (const [bad, message] of [
      ['not a url', /not a valid URL/],
      ['http://user:secret@host/', /must start with amqp:\/\/ or amqps:\/\/$/],
      ['amqp://host/?sslkey=/etc/shadow', /url option "sslkey" is not supported \(supported: heartbeat, frameMax, channelMax, locale\)/],
    ] as const) {
      expect(() => checkBrokerUrl(bad)).toThrow(TargetUrlError);
      expect(() => checkBrokerUrl(bad)).toThrow(message);
    }
    expect(() => new RabbitMqTarget({ kind: 'rabbitmq', url: 'amqp://h', options: { buckets: -1 } })).toThrow(TargetOptionError);
  });
});

describe('RabbitMQ messages', () => {
  it('routes each event by source, table, bucket and key, with its id, type and version header', () => {
    const { messages, refused } = outgoingMessages(batchOf([insert(1, 5)]), [insert(1, 5)], routing, 10_000);
    expect(refused).toEqual([]);
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message.routingKey).toMatch(/^p\.shop\.items\.[0-3]\.5$/);
    expect(message.properties).toEqual({
      messageId: expect.stringMatching(/^r1:1:[0-9a-f]{16}$/),
      contentType: 'application/json',
      type: 'tributary.change',
      appId: 'tributary',
      persistent: true,
      mandatory: true,
      headers: { 'tributary-event-version': 1 },
    });
    expect(JSON.parse(message.body.toString('utf8'))).toMatchObject({ v: 1, id: message.properties.messageId, seq: 1, op: 'insert', key: { id: 5 } });
  });

  it('publishes a key-moving update as a delete of the key it left, then the update on its new key', () => {
    const move: RowChange = { seq: 2, op: 'update', key: { id: 6 }, before: { id: 1, name: 'a' }, after: { id: 6, name: 'a' } };
    const stay: RowChange = { seq: 3, op: 'update', key: { id: 6 }, before: { id: 6, name: 'a' }, after: { id: 6, name: 'b' } };
    const { messages } = outgoingMessages(batchOf([move, stay]), [move, stay], { routingPrefix: 'p', buckets: 1 }, 10_000);
    const events = messages.map((m) => JSON.parse(m.body.toString('utf8')) as { op: string; seq: number; key: unknown; after: unknown });
    expect(messages.map((m) => m.routingKey)).toEqual(['p.shop.items.0.1', 'p.shop.items.0.6', 'p.shop.items.0.6']);
    expect(events.map((e) => [e.op, e.seq, e.key, e.after])).toEqual([
      ['delete', 2, { id: 1 }, null],
      ['update', 2, { id: 6 }, { id: 6, name: 'a' }],
      ['update', 3, { id: 6 }, { id: 6, name: 'b' }],
    ]);
  });

  it('refuses an event larger than the limit, or a routing key AMQP cannot carry, naming why', () => {
    const big = insert(2, 2, 'y'.repeat(1000));
    const { messages, refused } = outgoingMessages(batchOf([insert(1, 1), big]), [insert(1, 1), big], routing, 600);
    expect(messages.map((m) => m.change.seq)).toEqual([1]);
    expect(refused).toEqual([{ change: big, reason: expect.stringMatching(/^the change event is \d{4} bytes, more than the broker takes in one message \(600 bytes/), code: null }]);
    const longPrefix = { routingPrefix: Array.from({ length: 10 }, () => 'x'.repeat(30)).join('.'), buckets: 4 };
    expect(outgoingMessages(batchOf([insert(1, 1)]), [insert(1, 1)], longPrefix, 10_000).refused[0].reason).toMatch(/longer than AMQP's 255 bytes/);
  });

  it("reads the broker's words and its message size limit out of amqplib's errors", () => {
    const closed = new Error('Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - message size 1500 is larger than configured max size 1000"');
    expect(errorText(closed)).toBe('PRECONDITION_FAILED - message size 1500 is larger than configured max size 1000');
    expect(refusedSizeLimit(closed)).toBe(1000);
    expect(refusedSizeLimit(new Error('PRECONDITION_FAILED - message size 600000000 is larger than max size 536870912'))).toBe(536870912);
    expect(refusedSizeLimit(new Error('PRECONDITION_FAILED - inequivalent arg'))).toBeNull();
    expect(refusedSizeLimit(null)).toBeNull();
  });
});

/** What the stand-in broker does with a published message. */
type Behaviour = 'ack' | 'nack' | 'return' | 'silent' | 'too-large';

/** A stand-in confirm channel: answers each publish as `behave` says, as RabbitMQ would (return before ack; error, then close). */
class FakeChannel extends EventEmitter {
  readonly published: string[] = [];
  private readonly pending: Array<(error: Error | null) => void> = [];
  private closed = false;

  constructor(private readonly behave: (body: Buffer) => Behaviour) {
    super();
  }

  publish(_exchange: string, routingKey: string, body: Buffer, properties: { messageId: string }, callback: (error: Error | null) => void): boolean {
    if (this.closed) throw new Error('Channel closed');
    this.published.push(routingKey);
    this.pending.push(callback);
    const behaviour = this.behave(body);
    setImmediate(() => {
      if (this.closed) return;
      if (behaviour === 'too-large') return this.refuse(body.length);
      if (behaviour === 'silent') return;
      if (behaviour === 'return') this.emit('return', { properties: { messageId: properties.messageId }, fields: {}, content: body });
      this.pending.splice(this.pending.indexOf(callback), 1);
      callback(behaviour === 'nack' ? new Error('message nacked') : null);
    });
    return true;
  }

  async close(): Promise<void> {
    this.toClosed();
  }

  private refuse(size: number): void {
    const error = Object.assign(new Error(`Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - message size ${size} is larger than configured max size 1000"`), { code: 406 });
    this.emit('error', error);
    this.toClosed();
  }

  private toClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const callback of this.pending.splice(0)) callback(new Error('channel closed'));
    this.emit('close');
  }
}

function fakeBroker(behave: (body: Buffer) => Behaviour): { connect: Connect; channels: FakeChannel[] } {
  const channels: FakeChannel[] = [];
  const model = Object.assign(new EventEmitter(), {
    createConfirmChannel: async () => {
      const channel = new FakeChannel(behave);
      channels.push(channel);
      return channel;
    },
    close: async () => undefined,
  });
  return { connect: async () => model as unknown as ChannelModel, channels };
}

describe('RabbitMQ publishing (a stand-in broker)', () => {
  const url = checkBrokerUrl('amqp://guest:s3cret@127.0.0.1:5672/');
  const settings = { connectTimeoutMs: 1000, timeoutMs: 200 };
  const messages = (sizes: number[]): OutgoingMessage[] =>
    outgoingMessages(batchOf([]), sizes.map((size, i) => insert(i + 1, i + 1, 'z'.repeat(size))), routing, 10_000).messages;

  it('resolves once every message of every window is confirmed', async () => {
    const { connect, channels } = fakeBroker(() => 'ack');
    const link = new BrokerLink(url, settings, connect);
    await link.publish('ex', messages([1, 2, 3, 4, 5]), 2);
    expect(channels).toHaveLength(1);
    expect(channels[0].published).toHaveLength(5);
  });

  it('fails as transient on a nack, an unroutable message or missing confirms, and starts the next publish on a new channel', async () => {
    for (const [behaviour, message] of [
      ['nack', /the broker refused \(nack\) the message/],
      ['return', /no queue is bound for routing key p\.shop\.items\.\d\.2/],
      ['silent', /messages were not confirmed within 200 ms/],
    ] as const) {
      const { connect, channels } = fakeBroker((body) => (body.includes('"id":2') ? behaviour : 'ack'));
      const link = new BrokerLink(url, settings, connect);
      const error = await link.publish('ex', messages([1, 1, 1]), 10).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientTargetError);
      expect((error as Error).message).toMatch(message);
      await link.publish('ex', messages([1]), 10);
      expect(channels).toHaveLength(2);
    }
  });

  it("learns the broker's max message size from its refusal, and keeps to it", async () => {
    const { connect } = fakeBroker((body) => (body.length > 1000 ? 'too-large' : 'ack'));
    const link = new BrokerLink(url, settings, connect);
    expect(link.maxMessageBytes(DEFAULT_MAX_MESSAGE_BYTES)).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    const error = await link.publish('ex', messages([10, 2000, 10]), 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientTargetError);
    expect((error as Error).message).toMatch(/larger than its max_message_size \(1000 bytes\); the retried batch turns larger events into dead letters/);
    expect(link.maxMessageBytes(DEFAULT_MAX_MESSAGE_BYTES)).toBe(1000);
    expect(link.maxMessageBytes(500)).toBe(500);
    expect((error as Error).message).not.toContain('s3cret');
  });
});

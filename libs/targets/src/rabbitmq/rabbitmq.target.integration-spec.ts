import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import * as amqp from 'amqplib';
import { crc32, Row, RowChange, TargetTableSpec } from '@tributary/model';
import { proxyInFrontOf } from '@tributary/testing';
import { TargetConfigError, TargetNotReadableError, TransientTargetError } from '../errors';
import { ChangeEvent } from '../events/change-event';
import { columnSpec, describeTargetContract } from '../test-kit/target.contract';
import { ApplyBatch, ApplyHooks, RejectedChange } from '../target';
import { RabbitMqTarget, rabbitMqTargetFactory } from './rabbitmq.target';
import { EventFold, StreamMessage, StreamReader } from './test-kit/stream-reader';

const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

interface Names {
  exchange: string;
  streamQueue: string;
  routingPrefix: string;
}

/** Exchange, stream queue and routing prefix of one run: the broker is shared with other suites. */
function uniqueNames(): Names {
  const run = randomBytes(5).toString('hex');
  return { exchange: `trb_test_${run}`, streamQueue: `trb_test_${run}`, routingPrefix: `trbtest${run}` };
}

/** Runs `work` on a channel of its own (a refused call closes it), then closes it. */
async function onChannel<T>(connection: amqp.ChannelModel, work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    return await work(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

async function withBroker<T>(work: (connection: amqp.ChannelModel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(RABBITMQ_URL);
  try {
    return await work(connection);
  } finally {
    await connection.close();
  }
}

/** Deletes a run's queues and exchange. */
async function dropBrokerObjects(exchange: string, queues: readonly string[]): Promise<void> {
  await withBroker(async (connection) => {
    for (const queue of queues) await onChannel(connection, (channel) => channel.deleteQueue(queue)).catch(() => undefined);
    await onChannel(connection, (channel) => channel.deleteExchange(exchange)).catch(() => undefined);
  });
}

/*
 * Contract cases whose ApplyResult counts assume a target that knows the
 * version of every row it holds (ContractOptions.keepsVersions): a log does
 * not know what its consumers applied, so it publishes every change again
 * and counts the batch alone (`applied` = its row writes, `skipped` 0),
 * while the consumers' seq rule drops the repeats. Each is run below, under
 * "contract cases as a log", with the same changes and rows read back by a
 * consumer; the counts are the batch's own.
 */
describeTargetContract(
    'rabbitmq',
    async () => {
      const names = uniqueNames();
      const target = new RabbitMqTarget({ kind: 'rabbitmq', url: RABBITMQ_URL, options: { ...names } });
      return {
        target,
        // What the stream holds, as a new consumer folds it from the first offset; a column the table no longer has is refused, as a target would.
        async readRows(table) {
          const reader = new StreamReader(RABBITMQ_URL, names.streamQueue);
          try {
            return await reader.readRows(table, target.recordedColumns(table.name));
          } finally {
            await reader.close();
          }
        },
        unreachable: (password) => new RabbitMqTarget({ kind: 'rabbitmq', url: `amqp://guest:${password}@127.0.0.1:1/`, options: { connectTimeoutMs: 500 } }),
        async teardown() {
          await target.close();
          await dropBrokerObjects(names.exchange, [names.streamQueue]);
        },
      };
    },
    // A log refuses no rows itself, keeps what it published when the dead-letter hook fails (the retry
    // publishes again, consumers drop the repeats), and its events keep the names they were written with.
    {
      refusesRows: false,
      rollsBackOnHookFailure: false,
      detectsConflicts: rabbitMqTargetFactory.detectsConflicts,
      prepares: false,
      versionsPerSource: rabbitMqTargetFactory.versionsPerSource,
      rowsFollowSteps: false,
      readable: false,
      keepsVersions: false,
    },
);

const columns = [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('name', 'string', 'varchar(40)'), columnSpec('n', 'int', 'int(11)')];
const tableOf = (name: string): TargetTableSpec => ({ name, columns, key: ['id'] });
const simple = (id: number, name: string, n: number): Row => ({ id, name, n });
const insert = (seq: number, row: Row): RowChange => ({ seq, op: 'insert', key: { id: row.id }, before: null, after: row });
const update = (seq: number, before: Row, after: Row): RowChange => ({ seq, op: 'update', key: { id: after.id }, before, after });
const remove = (seq: number, before: Row): RowChange => ({ seq, op: 'delete', key: { id: before.id }, before, after: null });
const SOURCE = { id: 'shop', table: 'items', schemaHash: 'schema-1' };

function batchOf(table: TargetTableSpec, routeId: string, changes: RowChange[], extra: Partial<ApplyBatch> = {}): ApplyBatch {
  return { routeId, table, changes, watermark: Math.max(0, ...changes.map((c) => c.seq)), origin: 'tributary:shop', source: SOURCE, ...extra };
}

const noHooks: ApplyHooks = {
  async recordRejected(rejected) {
    throw new Error(`unexpected rejections: ${rejected.map((r) => `${r.change.seq}: ${r.reason}`).join('; ')}`);
  },
};

const eventOf = (message: StreamMessage): ChangeEvent => JSON.parse(message.content.toString('utf8')) as ChangeEvent;

/** One test's broker objects, targets and readers, all gone in `close`. */
class Run {
  readonly names = uniqueNames();
  readonly queues: string[] = [this.names.streamQueue];
  private readonly targets: RabbitMqTarget[] = [];
  private readonly readers: StreamReader[] = [];

  target(options: Record<string, unknown> = {}, url = RABBITMQ_URL): RabbitMqTarget {
    const target = new RabbitMqTarget({ kind: 'rabbitmq', url, options: { ...this.names, ...options } });
    this.targets.push(target);
    return target;
  }

  /** A new consumer of the stream: its first read starts at the first offset. */
  reader(): StreamReader {
    const reader = new StreamReader(RABBITMQ_URL, this.names.streamQueue);
    this.readers.push(reader);
    return reader;
  }

  /** Every event of the stream, read by a new consumer from the first offset. */
  async events(): Promise<{ messages: StreamMessage[]; events: ChangeEvent[] }> {
    const messages = await this.reader().readNew();
    return { messages, events: messages.map(eventOf) };
  }

  async close(): Promise<void> {
    for (const target of this.targets) await target.close();
    for (const reader of this.readers) await reader.close();
    await dropBrokerObjects(this.names.exchange, this.queues);
  }
}

describe('RabbitMqTarget specifics', () => {
  let run: Run;
  beforeEach(() => {
    run = new Run();
  });
  afterEach(() => run.close());

  it('keeps each key\'s events in seq order: 2,000 changes over 50 keys, batches of several sizes, small and large windows', async () => {
    const table = tableOf('ordered');
    const small = run.target({ maxInFlight: 7 });
    const large = run.target({ maxInFlight: 1000 });
    await small.ensureTable(table);
    await large.ensureTable(table);
    // A workload over 50 keys: inserts, updates, deletes and inserts again, in seq order.
    const rows = new Map<number, Row>();
    const changes: RowChange[] = [];
    for (let seq = 1; seq <= 2000; seq += 1) {
      const id = ((seq * 37) % 50) + 1;
      const current = rows.get(id);
      const next = simple(id, `v${seq}`, seq);
      if (current && seq % 11 === 0) {
        rows.delete(id);
        changes.push(remove(seq, current));
      } else {
        rows.set(id, next);
        changes.push(current ? update(seq, current, next) : insert(seq, next));
      }
    }
    const sizes = [1, 7, 250, 13, 500, 64, 999];
    let start = 0;
    for (let i = 0; start < changes.length; i += 1) {
      const part = changes.slice(start, start + sizes[i % sizes.length]);
      start += part.length;
      const result = await (i % 2 === 0 ? small : large).apply(batchOf(table, 'ordered', part), noHooks);
      expect(result.rejected).toEqual([]);
    }
    const { messages, events } = await run.events();
    expect(events).toHaveLength(2000);
    // Batches applied one after another: the stream holds them in publish order, so in seq order.
    expect(events.map((e) => e.seq)).toEqual(changes.map((c) => c.seq));
    expect(messages.map((m) => m.offset)).toEqual([...messages.keys()]);
    const perKey = new Map<string, number[]>();
    for (const event of events) perKey.set(JSON.stringify(event.key), [...(perKey.get(JSON.stringify(event.key)) ?? []), event.seq]);
    expect(perKey.size).toBe(50);
    for (const seqs of perKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const fold = new EventFold();
    events.forEach((e) => fold.add(e));
    expect(fold.rows(table)).toEqual([...rows.values()].sort((a, b) => Number(a.id) - Number(b.id)));
  });

  it('publishes a batch applied twice twice: the same ids, and a consumer folding by seq holds the same rows', async () => {
    const table = tableOf('twice');
    const target = run.target();
    await target.ensureTable(table);
    const first = batchOf(table, 'twice', [insert(1, simple(1, 'a', 1)), insert(2, simple(2, 'b', 2)), update(3, simple(1, 'a', 1), simple(1, 'A', 3)), remove(4, simple(2, 'b', 2))]);
    expect(await target.apply(first, noHooks)).toEqual({ applied: 2, skipped: 0, rejected: [] });
    const consumer = run.reader();
    const once = await consumer.readRows(table);
    expect(once).toEqual([simple(1, 'A', 3)]);
    // Retried (its confirms were lost, say): a log cannot know, and publishes it again, counting it again.
    expect(await target.apply(first, noHooks)).toEqual({ applied: 2, skipped: 0, rejected: [] });
    const { messages, events } = await run.events();
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(messages.slice(4).map((m) => m.properties.messageId)).toEqual(messages.slice(0, 4).map((m) => m.properties.messageId));
    expect(messages.map((m) => m.properties.messageId)).toEqual(events.map((e) => e.id));
    expect(events.slice(4)).toEqual(events.slice(0, 4));
    // The consumer that read the first copy, and a new one reading everything: the same rows.
    expect(await consumer.readRows(table)).toEqual(once);
    expect(await run.reader().readRows(table)).toEqual(once);
    // A newer batch, then the old one replayed once more: the newer rows stay.
    await target.apply(batchOf(table, 'twice', [update(5, simple(1, 'A', 3), simple(1, 'five', 5))]), noHooks);
    await target.apply(first, noHooks);
    expect(await consumer.readRows(table)).toEqual([simple(1, 'five', 5)]);
  });

  it('publishes versioned events: properties, routing key with bucket and escaped key, and every body field', async () => {
    const table: TargetTableSpec = {
      name: 'orders',
      columns: [
        columnSpec('id', 'int', 'int(11)', { nullable: false }),
        columnSpec('code', 'string', 'varchar(20)', { nullable: false }),
        columnSpec('big', 'bigint', 'bigint(20) unsigned'),
        columnSpec('bin', 'binary', 'varbinary(4)'),
      ],
      key: ['id', 'code'],
    };
    const target = run.target({ buckets: 8 });
    await target.ensureTable(table);
    const row = { id: 7, code: 'a.b c/é*#', big: '18446744073709551615', bin: Buffer.from([0, 255]) };
    const changed = { ...row, big: '1' };
    const moved = { ...changed, code: 'z' };
    const key = (r: Row) => ({ id: r.id, code: r.code });
    const ts = 1_700_000_000_123_456;
    const changes: RowChange[] = [
      { seq: 10, op: 'insert', key: key(row), before: null, after: row, ts },
      { seq: 11, op: 'update', key: key(changed), before: row, after: changed, ts: ts + 1 },
      { seq: 12, op: 'update', key: key(moved), before: changed, after: moved, ts: ts + 2 },
      { seq: 13, op: 'delete', key: key(moved), before: moved, after: null },
      { seq: 14, op: 'insert', key: key(row), before: null, after: row, copy: true },
    ];
    await target.apply(batchOf(table, 'orders-route.p1of4', changes, { source: { id: 'shop', table: 'order_rows', schemaHash: 'abc123' } }), noHooks);
    const { messages, events } = await run.events();
    // The key move is two events: a delete of the key it left, then the update on the new key.
    expect(messages).toHaveLength(6);
    const wire = (r: typeof row) => ({ ...r, bin: 'AP8=' });
    const bucket = (k: object) => crc32(Buffer.from(JSON.stringify(k), 'utf8')) % 8;
    const prefix = run.names.routingPrefix;
    const rowKey = `${prefix}.shop.orders.${bucket({ id: 7, code: row.code })}.7,a%2Eb%20c%2F%C3%A9%2A%23`;
    const movedKey = `${prefix}.shop.orders.${bucket({ id: 7, code: 'z' })}.7,z`;
    expect(messages.map((m) => m.routingKey)).toEqual([rowKey, rowKey, rowKey, movedKey, movedKey, rowKey]);
    for (const [i, message] of messages.entries()) {
      expect(message.properties).toMatchObject({
        messageId: events[i].id,
        contentType: 'application/json',
        type: 'tributary.change',
        appId: 'tributary',
        deliveryMode: 2,
        headers: expect.objectContaining({ 'tributary-event-version': 1 }),
      });
    }
    const common = { v: 1, source: 'shop', table: 'orders', sourceTable: 'order_rows', route: 'orders-route', schema: 'abc123' };
    const id = (seq: number) => expect.stringMatching(new RegExp(`^orders-route:${seq}:[0-9a-f]{16}$`));
    expect(events).toEqual([
      { ...common, id: id(10), op: 'insert', copy: false, seq: 10, ts, key: { id: 7, code: row.code }, before: null, after: wire(row) },
      { ...common, id: id(11), op: 'update', copy: false, seq: 11, ts: ts + 1, key: { id: 7, code: row.code }, before: wire(row), after: wire(changed) },
      { ...common, id: id(12), op: 'delete', copy: false, seq: 12, ts: ts + 2, key: { id: 7, code: row.code }, before: wire(changed), after: null },
      { ...common, id: id(12), op: 'update', copy: false, seq: 12, ts: ts + 2, key: { id: 7, code: 'z' }, before: wire(changed), after: wire(moved) },
      { ...common, id: id(13), op: 'delete', copy: false, seq: 13, ts: null, key: { id: 7, code: 'z' }, before: wire(moved), after: null },
      { ...common, id: id(14), op: 'insert', copy: true, seq: 14, ts: null, key: { id: 7, code: row.code }, before: null, after: wire(row) },
    ]);
    // The same change of the same row always has the same id; another row at the same seq another one.
    expect(events[5].id).not.toBe(events[0].id);
    expect(events[2].id).not.toBe(events[3].id);
  });

  it('refuses a classic queue under the stream queue\'s name, or an exchange of another type, as configuration', async () => {
    await withBroker((connection) => onChannel(connection, (channel) => channel.assertQueue(run.names.streamQueue, { durable: true })));
    const target = run.target();
    const table = tableOf('classic');
    const error = await target.ensureTable(table).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetConfigError);
    expect((error as Error).message).toMatch(new RegExp(`queue ${run.names.streamQueue} exists, but not as a durable stream queue .*x-queue-type.*option streamQueue`));
    expect(await target.checkTable(table)).toEqual([(error as Error).message]);
    // Nothing half done: the classic queue is still classic (declared again as it was, it is accepted).
    await withBroker((connection) => onChannel(connection, (channel) => channel.assertQueue(run.names.streamQueue, { durable: true })));

    const other = new Run();
    try {
      await withBroker((connection) => onChannel(connection, (channel) => channel.assertExchange(other.names.exchange, 'direct', { durable: true })));
      const direct = other.target();
      await expect(direct.ensureTable(table)).rejects.toThrow(new RegExp(`exchange ${other.names.exchange} exists, but not as a durable topic exchange .*option exchange`));
      expect(await direct.checkTable(table)).toHaveLength(1);
      // Another max age than the stream was declared with is refused the same way.
      const fresh = new Run();
      try {
        await fresh.target({ streamMaxAge: '7D' }).ensureTable(table);
        expect(await fresh.target({ streamMaxAge: '7D' }).checkTable(table)).toEqual([]);
        const problems = await fresh.target({ streamMaxAge: '1h' }).checkTable(table);
        expect(problems).toEqual([expect.stringMatching(/not as a durable stream queue with x-max-age 1h .*x-max-age/)]);
      } finally {
        await fresh.close();
      }
    } finally {
      await other.close();
    }
  });

  it('never shows the password: a wrong one, an unreachable broker, a refused declaration', async () => {
    const password = 'Sup3r%2Fs3cret!';
    const decoded = decodeURIComponent(password);
    const wrong = run.target({ timeoutMs: 5000 }, `amqp://guest:${password}@127.0.0.1:5672/`);
    const down = run.target({ connectTimeoutMs: 500 }, `amqp://guest:${password}@127.0.0.1:1/`);
    const table = tableOf('secret');
    for (const target of [wrong, down]) {
      for (const attempt of [
        () => target.ping(),
        () => target.ensureTable(table),
        () => target.apply(batchOf(table, 'secret', [insert(1, simple(1, 'a', 1))]), noHooks),
        () => target.readCheckpoint('secret'),
        () => target.checkTable(table),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TransientTargetError);
        const shown = inspect(error, { depth: 8 });
        expect(shown).not.toContain(password);
        expect(shown).not.toContain(decoded);
      }
    }
    const refused = (await wrong.ping().catch((e: unknown) => e)) as Error;
    expect(refused.message).toMatch(/ACCESS_REFUSED/);
    expect(refused.message).toContain('amqp://127.0.0.1:5672/');
    // The broker's own refusal of a declaration, through a URL with the (right) password.
    await withBroker((connection) => onChannel(connection, (channel) => channel.assertQueue(run.names.streamQueue, { durable: true })));
    const config = await run.target().ensureTable(table).catch((e: unknown) => e);
    expect(config).toBeInstanceOf(TargetConfigError);
    expect(inspect(config, { depth: 8 })).not.toMatch(/guest:guest/);
    // A bad URL is refused without echoing it.
    expect(() => run.target({}, `http://guest:${password}@host/`)).toThrow(/must start with amqp:\/\/ or amqps:\/\/$/);
  });

  it('routes by table and bucket: a subscriber queue bound to one table gets only its events, in order', async () => {
    const a = tableOf('table_a');
    const b = tableOf('table_b');
    const target = run.target({ buckets: 4 });
    await target.ensureTable(a);
    await target.ensureTable(b);
    const prefix = run.names.routingPrefix;
    const tableQueue = `${run.names.streamQueue}_a`;
    const bucketQueue = `${run.names.streamQueue}_bucket`;
    run.queues.push(tableQueue, bucketQueue);
    const bucketOf = (id: number) => crc32(Buffer.from(JSON.stringify({ id }), 'utf8')) % 4;
    await withBroker((connection) =>
      onChannel(connection, async (channel) => {
        await channel.assertQueue(tableQueue, { durable: false });
        await channel.bindQueue(tableQueue, run.names.exchange, `${prefix}.shop.table_a.#`);
        await channel.assertQueue(bucketQueue, { durable: false });
        await channel.bindQueue(bucketQueue, run.names.exchange, `${prefix}.shop.table_b.${bucketOf(1)}.#`);
      }),
    );
    // Key 1 moves to a key of another bucket: the old bucket's subscriber sees it leave.
    let other = 2;
    while (bucketOf(other) === bucketOf(1)) other += 1;
    await target.apply(batchOf(a, 'ra', [insert(1, simple(1, 'a1', 1)), insert(2, simple(2, 'a2', 2))]), noHooks);
    await target.apply(batchOf(b, 'rb', [insert(3, simple(1, 'b1', 3)), update(4, simple(1, 'b1', 3), simple(other, 'b1', 4))]), noHooks);
    await target.apply(batchOf(a, 'ra', [remove(5, simple(1, 'a1', 1))]), noHooks);
    const drain = (queue: string) =>
      withBroker((connection) =>
        onChannel(connection, async (channel) => {
          const events: ChangeEvent[] = [];
          for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) {
            events.push(JSON.parse(message.content.toString('utf8')) as ChangeEvent);
          }
          return events;
        }),
      );
    expect((await drain(tableQueue)).map((e) => [e.table, e.seq])).toEqual([
      ['table_a', 1],
      ['table_a', 2],
      ['table_a', 5],
    ]);
    // The move reaches the old key's bucket as a delete of the key it left; its update goes to the new key's bucket.
    expect((await drain(bucketQueue)).map((e) => [e.table, e.seq, e.op, e.key])).toEqual([
      ['table_b', 3, 'insert', { id: 1 }],
      ['table_b', 4, 'delete', { id: 1 }],
    ]);
    // The stream has every event once, the move as two.
    expect((await run.events()).events.map((e) => [e.seq, e.op])).toEqual([
      [1, 'insert'],
      [2, 'insert'],
      [3, 'insert'],
      [4, 'delete'],
      [4, 'update'],
      [5, 'delete'],
    ]);
  });

  it('fails as transient, keeping the checkpoint, when no queue takes an event; publishes once one is bound', async () => {
    const target = run.target({ streamQueue: null });
    const table = tableOf('unbound');
    await target.ensureTable(table);
    const change = batchOf(table, 'unbound', [insert(1, simple(1, 'a', 1))]);
    const error = await target.apply(change, noHooks).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientTargetError);
    expect((error as Error).message).toMatch(/no queue is bound for routing key .*unbound.* declare the streamQueue or bind a queue/);
    expect(await target.readCheckpoint('unbound')).toBeNull();
    const queue = `${run.names.streamQueue}_own`;
    run.queues.push(queue);
    await withBroker((connection) =>
      onChannel(connection, async (channel) => {
        await channel.assertQueue(queue, { durable: false });
        await channel.bindQueue(queue, run.names.exchange, '#');
      }),
    );
    expect(await target.apply(change, noHooks)).toEqual({ applied: 1, skipped: 0, rejected: [] });
    expect((await target.readCheckpoint('unbound'))?.watermark).toBe(1);
    const count = await withBroker((connection) => onChannel(connection, (channel) => channel.checkQueue(queue)));
    expect(count.messageCount).toBe(1);
  });

  it('turns an event larger than maxMessageBytes into a dead letter, recorded before the checkpoint moves, and publishes the rest', async () => {
    const target = run.target({ maxMessageBytes: 2048 });
    const table = tableOf('large');
    await target.ensureTable(table);
    const recorded: RejectedChange[] = [];
    const huge = insert(2, simple(2, 'é'.repeat(1500), 2));
    const hooks: ApplyHooks = {
      recordRejected: async (rejected) => {
        expect(await target.readCheckpoint('large')).toBeNull();
        recorded.push(...rejected);
      },
    };
    const result = await target.apply(batchOf(table, 'large', [insert(1, simple(1, 'a', 1)), huge, insert(3, simple(3, 'c', 3))]), hooks);
    expect(result).toEqual({ applied: 2, skipped: 0, rejected: [expect.objectContaining({ change: huge })] });
    expect(recorded.map((r) => r.reason)).toEqual([expect.stringMatching(/^the change event is \d+ bytes, more than the broker takes in one message \(2048 bytes/)]);
    expect((await target.readCheckpoint('large'))?.watermark).toBe(3);
    expect((await run.events()).events.map((e) => e.seq)).toEqual([1, 3]);
  });

  it('fails as transient while the broker is cut off, and publishes again once it is back', async () => {
    const { proxy, url } = await proxyInFrontOf(RABBITMQ_URL);
    try {
      const target = run.target({ connectTimeoutMs: 1000, timeoutMs: 2000 }, url);
      const table = tableOf('cut');
      await target.ensureTable(table);
      await target.apply(batchOf(table, 'cut', [insert(1, simple(1, 'a', 1))]), noHooks);
      await proxy.down();
      for (const attempt of [() => target.apply(batchOf(table, 'cut', [insert(2, simple(2, 'b', 2))]), noHooks), () => target.ping(), () => target.readCheckpoint('cut')]) {
        await expect(attempt()).rejects.toBeInstanceOf(TransientTargetError);
      }
      await proxy.up();
      // The retried batch, and the next one, on a new connection.
      await target.apply(batchOf(table, 'cut', [insert(2, simple(2, 'b', 2))]), noHooks);
      await target.apply(batchOf(table, 'cut', [update(3, simple(1, 'a', 1), simple(1, 'A', 3))]), noHooks);
      expect((await target.readCheckpoint('cut'))?.watermark).toBe(3);
      expect(await run.reader().readRows(table)).toEqual([simple(1, 'A', 3), simple(2, 'b', 2)]);
    } finally {
      await proxy.down();
    }
  });

  it('refuses every read: a stream cannot be read back as rows, so a route to it cannot be verified', async () => {
    const target = run.target();
    const table = tableOf('unread');
    for (const attempt of [() => target.readRows(table), () => target.readRowsByKeys(table, [{ id: 1 }]), () => target.scanRows(table, null, 10)]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TargetNotReadableError);
      expect((error as Error).message).toMatch(/AMQP 0-9-1 cannot tell a consumer where the stream ends.*cannot be verified/);
    }
  });
});

/**
 * The contract cases the contract leaves to this spec (keepsVersions false), with the
 * same changes: rows as a consumer folds the stream, counts as the batch's
 * own.
 */
describe('rabbitmq: contract cases as a log', () => {
  let run: Run;
  let target: RabbitMqTarget;
  let consumer: StreamReader;
  let tables = 0;
  beforeEach(() => {
    run = new Run();
    target = run.target();
    consumer = run.reader();
  });
  afterEach(() => run.close());

  async function fresh(): Promise<{ table: TargetTableSpec; route: string }> {
    tables += 1;
    const table = tableOf(`log_${tables}`);
    await target.ensureTable(table);
    return { table, route: `route-${tables}` };
  }
  const apply = (b: ApplyBatch) => target.apply(b, noHooks);
  const batch = (table: TargetTableSpec, route: string, changes: RowChange[], watermark?: number): ApplyBatch => ({
    ...batchOf(table, route, changes),
    ...(watermark === undefined ? {} : { watermark }),
  });

  it('an old batch replayed changes no row and no checkpoint', async () => {
    const { table, route } = await fresh();
    const old = batch(table, route, [insert(1, simple(1, 'a', 1)), insert(2, simple(2, 'b', 2))]);
    await apply(old);
    await apply(batch(table, route, [update(3, simple(1, 'a', 1), simple(1, 'new', 3)), remove(4, simple(2, 'b', 2))]));
    expect(await apply(old)).toEqual({ applied: 2, skipped: 0, rejected: [] });
    expect(await consumer.readRows(table)).toEqual([simple(1, 'new', 3)]);
    expect((await target.readCheckpoint(route))?.watermark).toBe(4);
  });

  it('a batch delivered twice, a late seq 5 after seq 7, a late insert after a delete: the consumer keeps the newest', async () => {
    const { table, route } = await fresh();
    const twice = batch(table, route, [insert(1, simple(1, 'a', 1)), update(2, simple(1, 'a', 1), simple(1, 'a', 2))]);
    await apply(twice);
    await apply(twice);
    await apply(batch(table, route, [update(7, simple(1, 'a', 2), simple(1, 'seven', 7))]));
    await apply(batch(table, route, [update(5, simple(1, 'a', 2), simple(1, 'five', 5))]));
    await apply(batch(table, route, [insert(8, simple(2, 'b', 8))]));
    await apply(batch(table, route, [remove(10, simple(2, 'b', 8))]));
    await apply(batch(table, route, [insert(9, simple(2, 'zombie', 9))]));
    // A tombstone for a key never seen blocks too; a newer insert goes in.
    await apply(batch(table, route, [remove(20, simple(5, 'x', 0))]));
    await apply(batch(table, route, [insert(15, simple(5, 'zombie', 15))]));
    expect(await consumer.readRows(table)).toEqual([simple(1, 'seven', 7)]);
    await apply(batch(table, route, [insert(21, simple(5, 'alive', 21))]));
    expect(await consumer.readRows(table)).toEqual([simple(1, 'seven', 7), simple(5, 'alive', 21)]);
  });

  it('reapply: stale changes are dropped by the consumer; within a batch the older change of a key is superseded', async () => {
    const { table, route } = await fresh();
    await apply(batch(table, route, [insert(1, simple(1, 'a', 1)), insert(2, simple(2, 'b', 2))]));
    await apply(batch(table, route, [update(5, simple(1, 'a', 1), simple(1, 'five', 5)), remove(6, simple(2, 'b', 2))]));
    const stale = [update(3, simple(1, 'a', 1), simple(1, 'three', 3)), insert(4, simple(2, 'zombie', 4))];
    expect(await target.apply({ ...batch(table, route, stale, 0), reapply: true }, noHooks)).toEqual({ applied: 2, skipped: 0, rejected: [], superseded: [] });
    const both = [update(5, simple(1, 'a', 1), simple(1, 'five', 5)), update(7, simple(1, 'five', 5), simple(1, 'seven', 7))];
    expect(await target.apply({ ...batch(table, route, both, 0), reapply: true }, noHooks)).toEqual({ applied: 1, skipped: 0, rejected: [], superseded: [5] });
    expect(await consumer.readRows(table)).toEqual([simple(1, 'seven', 7)]);
    // At a stored seq: dropped too (SQL targets apply it again; see ContractOptions.keepsVersions).
    await apply(batch(table, route, [insert(10, simple(3, 'c', 10))]));
    await target.apply({ ...batch(table, route, [update(10, simple(3, 'c', 10), simple(3, 'again', 10))], 0), reapply: true }, noHooks);
    expect(await consumer.readRows(table)).toEqual([simple(1, 'seven', 7), simple(3, 'c', 10)]);
    expect((await target.readCheckpoint(route))?.watermark).toBe(10);
  });

  it('5000-row batches, then a replay: the consumer holds the newer rows', async () => {
    const { table, route } = await fresh();
    const inserts = Array.from({ length: 5000 }, (_, i) => insert(i + 1, simple(i + 1, `r${i + 1}`, i)));
    await apply(batch(table, route, inserts));
    const mixed = Array.from({ length: 5000 }, (_, i) =>
      i % 5 === 0 ? remove(10_001 + i, simple(i + 1, '', 0)) : update(10_001 + i, simple(i + 1, '', 0), simple(i + 1, `u${i + 1}`, -i)),
    );
    await apply(batch(table, route, mixed));
    expect(await apply(batch(table, route, inserts))).toEqual({ applied: 5000, skipped: 0, rejected: [] });
    const rows = await consumer.readRows(table);
    expect(rows).toHaveLength(4000);
    expect(rows[0]).toEqual(simple(2, 'u2', -1));
    expect(rows[3999]).toEqual(simple(5000, 'u5000', -4999));
    expect((await target.readCheckpoint(route))?.watermark).toBe(15_000);
  });

  it('one batch of newer and older changes: the consumer applies the newer ones only', async () => {
    const { table, route } = await fresh();
    await apply(batch(table, route, [insert(10, simple(1, 'a', 10)), insert(11, simple(2, 'b', 11)), insert(12, simple(3, 'c', 12)), remove(13, simple(4, '', 0))]));
    await apply(
      batch(table, route, [
        update(5, simple(1, 'a', 10), simple(1, 'older', 5)),
        update(20, simple(2, 'b', 11), simple(2, 'newer', 20)),
        update(12, simple(3, 'c', 12), simple(3, 'same seq', 12)),
        insert(9, simple(4, 'zombie', 9)),
        insert(21, simple(5, 'new key', 21)),
        remove(22, simple(6, '', 0)),
      ]),
    );
    expect(await consumer.readRows(table)).toEqual([simple(1, 'a', 10), simple(2, 'newer', 20), simple(3, 'c', 12), simple(5, 'new key', 21)]);
    await apply(batch(table, route, [insert(15, simple(6, 'zombie', 15))]));
    expect((await consumer.readRows(table)).map((r) => r.id)).toEqual([1, 2, 3, 5]);
  });

  it('a delete racing a retry of older inserts: the rows stay gone, whichever is published first', async () => {
    const { table, route } = await fresh();
    for (let round = 0; round < 4; round += 1) {
      const ids = Array.from({ length: 50 }, (_, i) => round * 100 + i + 1);
      const base = round * 1000;
      const deletes = batch(table, `${route}-d`, ids.map((id) => remove(base + 500 + id, simple(id, 'old', 0))));
      const inserts = { ...batch(table, `${route}-i`, ids.map((id) => insert(base + id, simple(id, 'old', base + id)))), reapply: true };
      const [first, second] = round % 2 === 0 ? [deletes, inserts] : [inserts, deletes];
      await Promise.all([target.apply(first, noHooks), target.apply(second, noHooks)]);
      expect((await consumer.readRows(table)).filter((row) => ids.includes(Number(row.id)))).toEqual([]);
      await target.apply({ ...inserts, reapply: false }, noHooks);
      expect((await consumer.readRows(table)).filter((row) => ids.includes(Number(row.id)))).toEqual([]);
    }
  });
});

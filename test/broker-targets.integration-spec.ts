import { randomBytes } from 'node:crypto';
import { connect as connectAmqp } from 'amqplib';
import { connect as connectNats } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { SnapshotRepository } from '@tributary/control';
import { Row } from '@tributary/model';
import { ChangeEvent, NatsTarget } from '@tributary/targets';
import { createPipeline, ITEMS_DDL, Pipeline, proxyInFrontOf, runItemsWorkload, sleep, TcpProxy, waitFor } from '@tributary/testing';

/**
 * Change streams (issue #18): one source table into NATS JetStream and into
 * RabbitMQ, each through a TCP proxy the test cuts mid-stream (the broker
 * "restarts" for the pipeline; the brokers themselves are shared by other
 * suites and stay up). The routes start with an initial copy (copy events),
 * then a random workload with key changes, NOW(6), RAND() and rollbacks runs
 * from three connections. Read back as a consumer would — every event from
 * the start, folded per key by the seq rule (apply an event only if its seq
 * is higher than the key's last) — each stream must equal the source (as
 * the route's filter and mapping say), each key's events must come in
 * increasing seq, and the duplicates each broker let through are counted:
 * none for JetStream (Nats-Msg-Id within its window), only repeats of a
 * change already seen for RabbitMQ (publisher confirms without broker-side
 * de-duplication).
 */
const RUN = randomBytes(4).toString('hex');
const NATS_STREAM = `TRB_E2E_${RUN}`;
const NATS_PREFIX = `trbe2e${RUN}`;
const RABBIT_NAME = `trb_e2e_${RUN}`;
const RABBIT_PREFIX = `trbe2e${RUN}`;
const INITIAL_ROWS = 200;

interface Consumed {
  events: ChangeEvent[];
  /** Events whose id was seen before. */
  duplicates: number;
}

describe('change streams into NATS JetStream and RabbitMQ', () => {
  let pipeline: Pipeline;
  let natsProxy: TcpProxy;
  let rabbitProxy: TcpProxy;
  let nats: NatsTarget;

  beforeAll(async () => {
    pipeline = await createPipeline();
    const { source, setup } = pipeline;
    await source.knex.raw(ITEMS_DDL);
    for (let id = 1; id <= INITIAL_ROWS; id++) {
      await source.knex.raw("INSERT INTO items VALUES (?, ?, ?, ?, NOW(6), JSON_OBJECT('n', ?))", [id, id % 10, `item ${id}`, id * 1.5, id]);
    }
    const natsThrough = await proxyInFrontOf('nats://127.0.0.1:4222');
    const rabbitThrough = await proxyInFrontOf('amqp://guest:guest@127.0.0.1:5672');
    natsProxy = natsThrough.proxy;
    rabbitProxy = rabbitThrough.proxy;
    await setup.addSource('shop', source.url);
    await setup.captureTable('shop', 'items');
    await setup.addTarget({ id: 'events-nats', kind: 'nats', url: natsThrough.url, options: { stream: NATS_STREAM, subjectPrefix: NATS_PREFIX } });
    await setup.addTarget({ id: 'events-rabbit', kind: 'rabbitmq', url: rabbitThrough.url, options: { exchange: RABBIT_NAME, streamQueue: RABBIT_NAME, routingPrefix: RABBIT_PREFIX } });
    // NATS: a subset (grp < 5) without the JSON column; RabbitMQ: every row and column.
    await setup.routes.create({ id: 'items-nats', sourceId: 'shop', table: 'items', targetId: 'events-nats', targetTable: 'items', enabled: true, filter: 'grp < 5', mapping: { exclude: ['payload'] } });
    await setup.routes.create({ id: 'items-rabbit', sourceId: 'shop', table: 'items', targetId: 'events-rabbit', targetTable: 'items', enabled: true });
    nats = new NatsTarget({ kind: 'nats', url: 'nats://127.0.0.1:4222', options: { stream: NATS_STREAM, subjectPrefix: NATS_PREFIX } });
    pipeline.start('relay');
    pipeline.start('worker');
    const snapshots = new SnapshotRepository(pipeline.control.knex);
    for (const route of ['items-nats', 'items-rabbit']) {
      await waitFor(async () => (await snapshots.get(route))?.status === 'done', { timeoutMs: 60_000, what: `the initial copy of ${route}` }).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${pipeline.logs()}`);
      });
    }
  }, 120_000);

  afterAll(async () => {
    await pipeline?.teardown();
    await natsProxy?.down();
    await rabbitProxy?.down();
    await nats?.close();
    await dropBrokerObjects();
  });

  it('delivers every change in per-key order through a broker cut mid-stream, the stream folding to the source', async () => {
    let cut = false;
    const workload = runItemsWorkload(pipeline.source.url, { connections: 3, transactionsPerConnection: 150, keySpace: 300, stop: () => false });
    // Both brokers go away for the pipeline while the workload writes, and come back.
    const outage = (async () => {
      await sleep(700);
      await Promise.all([natsProxy.down(), rabbitProxy.down()]);
      cut = true;
      await sleep(2_000);
      await Promise.all([natsProxy.up(), rabbitProxy.up()]);
    })();
    const stats = await workload;
    await outage;
    expect(cut).toBe(true);
    expect(stats.committed).toBeGreaterThan(100);
    for (const route of ['items-nats', 'items-rabbit']) {
      await pipeline.waitForCatchUp(route, 60_000).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${pipeline.logs()}`);
      });
    }
    for (const route of ['items-nats', 'items-rabbit']) expect({ route, letters: await pipeline.deadLetters.list(route, { status: 'all', limit: 5 }) }).toEqual({ route, letters: [] });

    const sourceRows = (await pipeline.compare('items', nats, 'items')).source.map(canonical);
    const natsConsumed = await natsEvents();
    const rabbitConsumed = await rabbitEvents();

    for (const [name, consumed, expected] of [
      ['nats', natsConsumed, sourceRows.filter((row) => Number(row.grp) < 5).map(({ payload: _payload, ...row }) => row)],
      ['rabbitmq', rabbitConsumed, sourceRows],
    ] as const) {
      const { rows, outOfOrder } = fold(consumed.events);
      expect({ name, outOfOrder }).toEqual({ name, outOfOrder: [] });
      expect({ name, rows: rows.map(canonical) }).toEqual({ name, rows: expected });
      // The initial copy arrived as copy events, every one a row of the table then.
      expect(consumed.events.filter((event) => event.copy).length).toBeGreaterThan(0);
      expect(consumed.events.every((event) => event.v === 1 && event.source === 'shop' && event.table === 'items' && event.sourceTable === 'items')).toBe(true);
    }
    // JetStream dropped every repeat within its duplicate window; RabbitMQ may pass some on, each an event already seen.
    expect(natsConsumed.duplicates).toBe(0);
    expect(natsConsumed.events.every((event) => !('payload' in (event.after ?? {})))).toBe(true);
    console.log(`broker cut: nats events ${natsConsumed.events.length} (duplicates ${natsConsumed.duplicates}), rabbitmq events ${rabbitConsumed.events.length} (duplicates ${rabbitConsumed.duplicates})`);
  }, 180_000);

  /** Every event of the stream from its start, as an ordered consumer reads them. */
  async function natsEvents(): Promise<Consumed> {
    const nc = await connectNats({ servers: '127.0.0.1:4222' });
    try {
      const info = await (await jetstreamManager(nc)).streams.info(NATS_STREAM);
      const consumer = await jetstream(nc).consumers.get(NATS_STREAM, { filter_subjects: `${NATS_PREFIX}.>` });
      const seen = new Set<string>();
      const consumed: Consumed = { events: [], duplicates: 0 };
      const messages = await consumer.consume();
      for await (const message of messages) {
        const event = message.json<ChangeEvent>();
        if (seen.has(event.id)) consumed.duplicates++;
        seen.add(event.id);
        consumed.events.push(event);
        if (message.seq >= info.state.last_seq) break;
      }
      return consumed;
    } finally {
      await nc.close();
    }
  }

  /** Every event of the stream queue from its first offset, up to a marker sent just now (everything published before it). */
  async function rabbitEvents(): Promise<Consumed> {
    const connection = await connectAmqp('amqp://guest:guest@127.0.0.1:5672');
    try {
      const channel = await connection.createChannel();
      await channel.prefetch(1000);
      const marker = `marker-${randomBytes(4).toString('hex')}`;
      channel.sendToQueue(RABBIT_NAME, Buffer.from('{}'), { type: 'tributary.test-marker', messageId: marker });
      const seen = new Set<string>();
      const consumed: Consumed = { events: [], duplicates: 0 };
      await new Promise<void>((resolve, reject) => {
        channel
          .consume(
            RABBIT_NAME,
            (message) => {
              if (!message) return;
              channel.ack(message);
              if (message.properties.type === 'tributary.test-marker') {
                if (message.properties.messageId === marker) resolve();
                return;
              }
              const event = JSON.parse(message.content.toString('utf8')) as ChangeEvent;
              if (seen.has(event.id)) consumed.duplicates++;
              seen.add(event.id);
              consumed.events.push(event);
            },
            { noAck: false, arguments: { 'x-stream-offset': 'first' } },
          )
          .catch(reject);
      });
      await channel.close();
      return consumed;
    } finally {
      await connection.close();
    }
  }

  async function dropBrokerObjects(): Promise<void> {
    const nc = await connectNats({ servers: '127.0.0.1:4222' }).catch(() => null);
    if (nc) {
      await (await jetstreamManager(nc)).streams.delete(NATS_STREAM).catch(() => undefined);
      await nc.close();
    }
    const connection = await connectAmqp('amqp://guest:guest@127.0.0.1:5672').catch(() => null);
    if (connection) {
      const channel = await connection.createChannel();
      await channel.deleteQueue(RABBIT_NAME).catch(() => undefined);
      await channel.deleteExchange(RABBIT_NAME).catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
  }
});

/**
 * The stream as a consumer keeps it: per key, an event counts only if its seq
 * is higher than the last one counted (so duplicates and anything older are
 * dropped); rows are the after images of keys whose last event is not a
 * delete, ordered by id. `outOfOrder`: keys whose new (never seen) events
 * came with a lower seq than one already counted.
 */
function fold(events: readonly ChangeEvent[]): { rows: Row[]; outOfOrder: string[] } {
  const last = new Map<string, { seq: number; event: ChangeEvent }>();
  const seenIds = new Set<string>();
  const outOfOrder: string[] = [];
  for (const event of events) {
    const key = JSON.stringify(event.key);
    const before = last.get(key);
    const repeat = seenIds.has(event.id);
    seenIds.add(event.id);
    if (before && event.seq <= before.seq) {
      if (!repeat) outOfOrder.push(`${key}: seq ${event.seq} after ${before.seq}`);
      continue;
    }
    last.set(key, { seq: event.seq, event });
  }
  const rows = [...last.values()].filter(({ event }) => event.op !== 'delete').map(({ event }) => event.after as Row);
  return { rows: rows.sort((a, b) => Number(a.id) - Number(b.id)), outOfOrder };
}

/** A row in the forms both sides compare in: numbers as numbers, JSON parsed. */
function canonical(row: Row): Row {
  const out: Row = {};
  for (const [name, value] of Object.entries(row)) {
    if (name === 'payload' && typeof value === 'string') out[name] = JSON.parse(value) as Row[string];
    else if (name === 'id' || name === 'grp') out[name] = Number(value);
    else out[name] = value;
  }
  return out;
}

import { randomBytes } from 'node:crypto';
import { connect as connectAmqp } from 'amqplib';
import { connect as connectNats } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { captureItems, countDeadLetters, cpuGroups, createBenchDeployment, tributaryEnv } from './deployment';
import { DrainResult, waitForDrain, writeBacklog } from './drain';
import { cpuUse, formatInt, rssList, table } from './format';
import { CpuMeter, memoryMiB } from './proc';
import { AppProcess, Cleanup, note, noteOutputs, startApp } from './support';

/**
 * Change streams (issue #18): the drain's backlog (default 210k changes)
 * published as change events into each broker by Tributary, timed from
 * process start until the route's durable progress covers the backlog; and,
 * in the same run, the baseline: the same number of events of the same size
 * published by a bare loop with the same client, the same confirmation
 * (JetStream acks with Nats-Msg-Id; RabbitMQ publisher confirms) and as many
 * unconfirmed at once as the target allows. The ratio is what the pipeline
 * costs on top of the broker.
 */
export interface BrokersOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  natsUrl: string;
  rabbitUrl: string;
  inserts: number;
  appEnv: Record<string, string>;
  nodeArgs: string[];
  timeoutMs: number;
}

export interface BrokerDrain {
  broker: 'nats' | 'rabbitmq';
  backlog: DrainResult['backlog'];
  seconds: number;
  /** Events the broker stored (JetStream: the stream's message count; RabbitMQ: the route's applied count). */
  stored: number;
  appliedTotal: number;
  deadLetters: number;
  peakRssMiB: Record<string, number | null>;
  cpu: Record<string, number>;
  /** The bare publish loop on the same broker: events/s and the body size it used. */
  bare: { seconds: number; events: number; bodyBytes: number };
}

const TABLE = 'items';
const ROUTE_ID = 'items-events';
/** Unconfirmed publishes at once, in the bare loop: the targets' defaults. */
const NATS_IN_FLIGHT = 256;
const RABBIT_IN_FLIGHT = 1000;

export async function measureBrokers(options: BrokersOptions, cleanup: Cleanup): Promise<BrokerDrain[]> {
  const results: BrokerDrain[] = [];
  for (const broker of ['nats', 'rabbitmq'] as const) {
    results.push(await measureBroker(broker, options, cleanup));
    await cleanup.run();
  }
  return results;
}

async function measureBroker(broker: 'nats' | 'rabbitmq', options: BrokersOptions, cleanup: Cleanup): Promise<BrokerDrain> {
  const deployment = await createBenchDeployment(options, cleanup);
  const run = randomBytes(4).toString('hex');
  const names = { stream: `TRB_BENCH_${run}`, prefix: `trbbench${run}`, exchange: `trb_bench_${run}` };
  cleanup.add(`${broker} stream`, () => dropBrokerObjects(broker, options, names));
  await captureItems(deployment, TABLE);
  const target =
    broker === 'nats'
      ? { id: 'events', kind: 'nats', url: options.natsUrl, options: { stream: names.stream, subjectPrefix: names.prefix } }
      : { id: 'events', kind: 'rabbitmq', url: options.rabbitUrl, options: { exchange: names.exchange, streamQueue: names.exchange, routingPrefix: names.prefix } };
  await deployment.setup.addTarget(target);
  // Before the backlog, so the route starts at 0 and carries all of it (as the drain's route does).
  await deployment.setup.addRoute({ id: ROUTE_ID, sourceId: deployment.sourceId, table: TABLE, targetId: 'events', targetTable: TABLE, enabled: true });
  const backlog = await writeBacklog(deployment.source, options.inserts);
  note(`${broker}: backlog of ${backlog.changes} changes written; the bare publish loop first`);
  const bare = broker === 'nats' ? await bareNats(options.natsUrl, backlog.changes, run) : await bareRabbit(options.rabbitUrl, backlog.changes, run);

  note(`${broker}: starting the apps`);
  const env = tributaryEnv(deployment, options.redisUrl, options.appEnv);
  const apps: AppProcess[] = [];
  const meter = new CpuMeter(cpuGroups(apps, ['relay', 'worker']));
  meter.start();
  const started = performance.now();
  for (const name of ['relay', 'worker'] as const) apps.push(startApp(name, env, options.nodeArgs, cleanup));
  try {
    await waitForDrain(deployment.progress, deployment.sourceId, apps, backlog.maxSeq, started, options.timeoutMs, ROUTE_ID);
    const seconds = (performance.now() - started) / 1000;
    const peakRssMiB = Object.fromEntries(apps.map((app) => [app.name, memoryMiB(app.pid, 'VmHWM')]));
    const { perGroup } = meter.stop();
    perGroup.delete('bench');
    await Promise.all(apps.map((app) => app.stop()));
    const [route] = await deployment.progress.listProgress([ROUTE_ID]);
    const stored = broker === 'nats' ? await natsMessages(options.natsUrl, names.stream) : route.appliedTotal;
    return {
      broker,
      backlog,
      seconds,
      stored,
      appliedTotal: route.appliedTotal,
      deadLetters: await countDeadLetters(deployment, [ROUTE_ID]),
      peakRssMiB,
      cpu: Object.fromEntries(perGroup),
      bare,
    };
  } catch (error) {
    noteOutputs(apps);
    throw error;
  }
}

/** A body the size of the backlog's events: an items row's update event. */
function sampleBody(seq: number): string {
  const row = { id: String(seq), grp: 7, name: `item ${seq}+`, amount: '1234.75', noted: '2026-12-07 01:02:03.456789', payload: '{"tags": ["a", "b"], "n": 42}' };
  return JSON.stringify({ v: 1, id: `bench:${seq}:0123456789abcdef`, source: 'src', table: 'items', sourceTable: 'items', route: 'bench', op: 'update', copy: false, seq, ts: Date.now() * 1000, schema: '0123456789abcdef', key: { id: seq }, before: row, after: row });
}

async function bareNats(url: string, events: number, run: string): Promise<BrokerDrain['bare']> {
  const nc = await connectNats({ servers: new URL(url).host });
  const stream = `TRB_BARE_${run}`;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`trbbare${run}.>`], duplicate_window: 120e9 });
    const js = jetstream(nc);
    const started = performance.now();
    let bodyBytes = 0;
    for (let from = 1; from <= events; from += NATS_IN_FLIGHT) {
      const acks: Promise<unknown>[] = [];
      for (let seq = from; seq < Math.min(events + 1, from + NATS_IN_FLIGHT); seq++) {
        const body = sampleBody(seq);
        bodyBytes = body.length;
        acks.push(js.publish(`trbbare${run}.src.items.${seq % 16}.${seq}`, body, { msgID: `bench:${seq}` }));
      }
      await Promise.all(acks);
    }
    const seconds = (performance.now() - started) / 1000;
    await jsm.streams.delete(stream);
    return { seconds, events, bodyBytes };
  } finally {
    await nc.close();
  }
}

async function bareRabbit(url: string, events: number, run: string): Promise<BrokerDrain['bare']> {
  const connection = await connectAmqp(url);
  const name = `trb_bare_${run}`;
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(name, 'topic', { durable: true });
    await channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    await channel.bindQueue(name, name, '#');
    const started = performance.now();
    let bodyBytes = 0;
    for (let from = 1; from <= events; from += RABBIT_IN_FLIGHT) {
      for (let seq = from; seq < Math.min(events + 1, from + RABBIT_IN_FLIGHT); seq++) {
        const body = sampleBody(seq);
        bodyBytes = body.length;
        channel.publish(name, `trbbare.src.items.${seq % 16}.${seq}`, Buffer.from(body), { messageId: `bench:${seq}`, persistent: true, contentType: 'application/json' });
      }
      await channel.waitForConfirms();
    }
    const seconds = (performance.now() - started) / 1000;
    await channel.deleteQueue(name);
    await channel.deleteExchange(name);
    await channel.close();
    return { seconds, events, bodyBytes };
  } finally {
    await connection.close();
  }
}

async function natsMessages(url: string, stream: string): Promise<number> {
  const nc = await connectNats({ servers: new URL(url).host });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

async function dropBrokerObjects(broker: 'nats' | 'rabbitmq', options: BrokersOptions, names: { stream: string; exchange: string }): Promise<void> {
  if (broker === 'nats') {
    const nc = await connectNats({ servers: new URL(options.natsUrl).host }).catch(() => null);
    if (!nc) return;
    await (await jetstreamManager(nc)).streams.delete(names.stream).catch(() => undefined);
    await nc.close();
    return;
  }
  const connection = await connectAmqp(options.rabbitUrl).catch(() => null);
  if (!connection) return;
  const channel = await connection.createChannel();
  await channel.deleteQueue(names.exchange).catch(() => undefined);
  await channel.deleteExchange(names.exchange).catch(() => undefined);
  await connection.close().catch(() => undefined);
}

/** Every event stored once (JetStream counts them), nothing dead-lettered. */
export function brokersVerified(results: readonly BrokerDrain[]): boolean {
  return results.every((result) => result.deadLetters === 0 && result.appliedTotal === result.backlog.changes && result.stored === result.backlog.changes);
}

export function brokersReport(results: readonly BrokerDrain[]): string[] {
  if (results.length === 0) return [];
  const { backlog } = results[0];
  return [
    `Change streams: ${formatInt(backlog.changes)} outbox changes published as change events, relay + worker processes; ` +
      'baseline: a bare loop publishing as many events of the same size with the same client and confirmations, in the same run',
    table(
      ['broker', 'drain', 'events/s', 'bare loop events/s', 'Tributary / bare', 'stored', 'dead letters', 'peak RSS', 'CPU (% of wall)'],
      results.map((result) => {
        const rate = result.backlog.changes / result.seconds;
        const bare = result.bare.events / result.bare.seconds;
        return [
          result.broker,
          `${result.seconds.toFixed(1)} s`,
          formatInt(rate),
          `${formatInt(bare)} (${result.bare.bodyBytes} B bodies)`,
          (rate / bare).toFixed(2),
          formatInt(result.stored),
          String(result.deadLetters),
          rssList(result.peakRssMiB),
          cpuUse(result.cpu, result.seconds),
        ];
      }),
      false,
    ),
    `verified (every event stored once, nothing dead-lettered): ${brokersVerified(results) ? 'yes' : 'NO'}`,
  ];
}

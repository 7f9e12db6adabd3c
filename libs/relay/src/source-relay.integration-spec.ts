import { Connection, createConnection } from 'mysql2/promise';
import { CatalogRepository, openMysql, ProgressRepository } from '@tributary/control';
import { migrateControl, migrateOutbox } from '@tributary/db';
import { createLogger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { OutboxRepository } from '@tributary/outbox';
import { LeaderLease } from '@tributary/runtime';
import { Worker } from 'bullmq';
import { createRedis, QueuedJobData, QueueRegistry, RangeJobData, RedisClient, RedisLossDetector, sourceQueueName } from '@tributary/queue';
import { createMysqlDatabase, sleep, TEST_REDIS_URL, TestDatabase, uniqueName, waitFor } from '@tributary/testing';
import { Knex } from 'knex';
import { SourceRelay, SourceRelaySettings } from './source-relay';

const settings: SourceRelaySettings = {
  batchRows: 500,
  pollMinMs: 5,
  pollMaxMs: 50,
  holeCloseDelayMs: 100,
  holeTimeoutMs: 60_000,
  leaderRetryMs: 100,
  heartbeatMs: 100,
  jobMaxRows: 100,
  jobMaxBytes: 1 << 20,
  configRefreshMs: 100,
  retentionMs: 3_600_000,
  purgeIntervalMs: 3_600_000,
  purgeChunkRows: 1000,
};

describe('SourceRelay (real MariaDB and Redis)', () => {
  let control: TestDatabase;
  let source: TestDatabase;
  let redis: RedisClient;
  let queues: QueueRegistry;
  let catalog: CatalogRepository;
  let progress: ProgressRepository;
  let sourceKnex: Knex;
  const relays: SourceRelay[] = [];
  const connections: Connection[] = [];
  const prefix = uniqueName('trib');
  /** Stands in for the workers: takes every job of the source's queue at once and keeps what it said. */
  let consumer: Worker<QueuedJobData>;
  const received: QueuedJobData[] = [];
  const metrics = new Metrics();

  beforeAll(async () => {
    control = await createMysqlDatabase('trib_ctl');
    source = await createMysqlDatabase('trib_src');
    await migrateControl(control.knex);
    await migrateOutbox(source.knex);
    catalog = new CatalogRepository(control.knex);
    progress = new ProgressRepository(control.knex);
    await catalog.upsertSource({ id: 'src', url: source.url });
    await catalog.upsertTarget({ id: 'tgt', kind: 'postgres', url: 'postgres://unused', options: {} });
    await catalog.upsertRoute({ id: 'r1', sourceId: 'src', table: 't', targetId: 'tgt', targetTable: 't', enabled: true });
    redis = createRedis(TEST_REDIS_URL);
    queues = new QueueRegistry(redis, prefix);
    consumer = new Worker<QueuedJobData>(sourceQueueName('src'), async (job) => void received.push(job.data), { connection: redis, prefix, concurrency: 8 });
    sourceKnex = openMysql(source.url);
  });

  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    await Promise.all(connections.map((c) => c.end()));
    await consumer.close();
    await queues.queueFor('src').obliterate({ force: true });
    await queues.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await sourceKnex.destroy();
    await source.drop();
    await control.drop();
  });

  function startRelay(leaderId: string, overrides: Partial<SourceRelaySettings> = {}): SourceRelay {
    const relay = new SourceRelay({
      sourceId: 'src',
      leaderId,
      outbox: new OutboxRepository(sourceKnex),
      lease: new LeaderLease(control.url, `trib_${prefix}`.slice(0, 64)),
      catalog,
      progress,
      queues,
      lossDetector: new RedisLossDetector(redis, prefix),
      metrics,
      logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
      settings: { ...settings, ...overrides },
    });
    relays.push(relay);
    relay.start();
    return relay;
  }

  async function writer(): Promise<Connection> {
    const connection = await createConnection({ uri: source.url });
    connections.push(connection);
    return connection;
  }

  async function insertChange(connection: Connection, id: number): Promise<void> {
    await connection.query(
      // A real timestamp: the retention window (an hour by default here) keeps the rows from every purge but the purge test's.
      "INSERT INTO _tributary_outbox (table_name, op, pk, after_image, ts, schema_hash) VALUES ('t', 'insert', ?, ?, ?, 'h')",
      [JSON.stringify({ id }), JSON.stringify({ id }), Date.now() * 1000],
    );
  }

  /** Every outbox seq of table t inside the ranges of the range jobs a route got, with duplicates. */
  async function deliveredSeqs(routeId = 'r1'): Promise<number[]> {
    const present = await outboxSeqs();
    return received
      .filter((data): data is RangeJobData => {
        if (data.v !== 2 || data.kind !== 'range') throw new Error(`the relay queued a ${data.v === 2 ? data.kind : 'v1'} job`);
        return data.routeId === routeId;
      })
      .flatMap((data) => present.filter((seq) => data.ranges.some((range) => seq >= range.from && seq <= range.to)))
      .sort((a, b) => a - b);
  }

  async function outboxSeqs(): Promise<number[]> {
    const [rows] = await sourceKnex.raw('SELECT seq FROM _tributary_outbox ORDER BY seq');
    return (rows as Array<{ seq: number }>).map((row) => Number(row.seq));
  }

  it('delivers past an open transaction, closes a rolled-back hole exactly, and delivers the late commit', async () => {
    const [a, b, c, d] = [await writer(), await writer(), await writer(), await writer()];
    await a.query('BEGIN');
    await insertChange(a, 1); // lowest seq, committed last
    await b.query('BEGIN');
    await insertChange(b, 2);
    await b.query('COMMIT');
    await c.query('BEGIN');
    await insertChange(c, 3);
    await c.query('ROLLBACK'); // a permanent hole
    await insertChange(d, 4);
    const [s1, s2, , s4] = await (async () => {
      const [rows] = await d.query('SELECT MAX(seq) AS m FROM _tributary_outbox');
      const max = Number((rows as Array<{ m: number }>)[0].m);
      return [max - 3, max - 2, max - 1, max];
    })();

    startRelay('relay-a');
    await waitFor(async () => {
      const seqs = await deliveredSeqs();
      return seqs.includes(s2) && seqs.includes(s4);
    }, { what: 'committed rows past the open transaction' });

    // The rolled-back hole closes exactly; the open one holds the watermark however long it stays open.
    await sleep(settings.holeCloseDelayMs * 5 + settings.pollMaxMs * 4);
    const held = await progress.loadRelayState('src');
    expect(held?.watermark).toBe(s1 - 1);
    expect(held?.holes).toEqual([expect.objectContaining({ from: s1, to: s1 })]);
    expect(await deliveredSeqs()).toEqual([s2, s4]);

    await a.query('COMMIT');
    await waitFor(async () => (await deliveredSeqs()).includes(s1), { what: 'the late commit' });
    await waitFor(async () => (await progress.loadRelayState('src'))?.watermark === s4, { what: 'watermark past every hole' });
    expect(await deliveredSeqs()).toEqual([s1, s2, s4]);
  });

  it('never skips a committed change under concurrent out-of-order writers with rollbacks', async () => {
    const writers = await Promise.all([1, 2, 3, 4].map(() => writer()));
    let id = 1000;
    await Promise.all(
      writers.map(async (connection, w) => {
        for (let i = 0; i < 40; i++) {
          await connection.query('BEGIN');
          await insertChange(connection, id++);
          if (i % 3 === w % 3) await sleep(Math.random() * 30); // commit order differs from seq order
          await insertChange(connection, id++);
          await connection.query(i % 7 === 0 ? 'ROLLBACK' : 'COMMIT');
        }
      }),
    );
    const committed = await outboxSeqs();
    await waitFor(async () => {
      const seqs = new Set(await deliveredSeqs());
      return committed.every((seq) => seqs.has(seq));
    }, { what: 'every committed row delivered' });
    const delivered = await deliveredSeqs();
    expect(new Set(delivered)).toEqual(new Set(committed));
    expect(delivered.length).toBe(committed.length); // and nothing twice
    await waitFor(async () => (await progress.loadRelayState('src'))?.watermark === committed[committed.length - 1], {
      what: 'rolled-back holes closed',
    });
  });

  it('claims coverage exactly: a job covering a moment holds, with the jobs before it, every row of every transaction committed before it', async () => {
    const writers = await Promise.all([1, 2, 3].map(() => writer()));
    const firstJob = received.length;
    // Each transaction: its seqs, and the source's clock read right after its COMMIT returned (its commit was before).
    const transactions: Array<{ seqs: number[]; committedBy: number }> = [];
    let id = 5000;
    await Promise.all(
      writers.map(async (connection, w) => {
        for (let i = 0; i < 30; i++) {
          await connection.query('BEGIN');
          const seqs: number[] = [];
          for (let row = 0; row < 2; row++) {
            await insertChange(connection, id++);
            const [[last]] = (await connection.query('SELECT LAST_INSERT_ID() AS seq')) as unknown as [[{ seq: number }]];
            seqs.push(Number(last.seq));
            if ((i + w) % 4 === 0) await sleep(Math.random() * 20); // held open while others commit
          }
          await connection.query('COMMIT');
          const [[clock]] = (await connection.query('SELECT TIMESTAMPDIFF(MICROSECOND, \'1970-01-01 00:00:00\', UTC_TIMESTAMP(6)) AS now')) as unknown as [[{ now: number }]];
          transactions.push({ seqs, committedBy: Number(clock.now) });
        }
      }),
    );
    const committed = transactions.flatMap((t) => t.seqs);
    await waitFor(async () => {
      const seqs = new Set(await deliveredSeqs());
      return committed.every((seq) => seqs.has(seq));
    }, { what: 'every committed row delivered' });
    const jobs = received.slice(firstJob).filter((data): data is RangeJobData => data.v === 2 && data.kind === 'range' && data.routeId === 'r1');
    const covering = jobs.filter((job) => job.coveredMicros !== undefined);
    expect(covering.length).toBeGreaterThan(0);
    let checked = 0;
    for (const [index, job] of jobs.entries()) {
      if (job.coveredMicros === undefined) continue;
      const upTo = jobs.slice(0, index + 1);
      const inJobs = (seq: number) => upTo.some((j) => j.ranges.some((range) => seq >= range.from && seq <= range.to));
      for (const transaction of transactions) {
        if (transaction.committedBy >= job.coveredMicros) continue;
        checked++;
        for (const seq of transaction.seqs) expect({ seq, covered: job.coveredMicros, inJobs: inJobs(seq) }).toEqual({ seq, covered: job.coveredMicros, inJobs: true });
      }
    }
    expect(checked).toBeGreaterThan(transactions.length);
  });

  it('fails over to a standby without split brain: the deposed epoch can no longer checkpoint', async () => {
    const before = await progress.loadRelayState('src');
    const standby = startRelay('relay-b'); // waits: relay-a holds the lock
    await sleep(300);
    expect((await progress.loadRelayState('src'))?.leader).toBe('relay-a');

    await relays[0].stop(); // leader goes away; the standby takes over
    await waitFor(async () => (await progress.loadRelayState('src'))?.leader === 'relay-b', { what: 'standby to lead' });
    const after = await progress.loadRelayState('src');
    expect(after!.epoch).toBeGreaterThan(before!.epoch);
    // Fencing: a checkpoint written with the old epoch is refused.
    expect(await progress.saveRelayState('src', before!.epoch, { watermark: 0, high: 0, holes: [] })).toBe(false);

    const connection = await writer();
    await insertChange(connection, 5000);
    const last = (await outboxSeqs()).pop()!;
    await waitFor(async () => (await deliveredSeqs()).includes(last), { what: 'the new leader to deliver' });
    await standby.stop();
  });

  it('purges only outbox rows that every route has applied, in chunks', async () => {
    const seqs = await outboxSeqs();
    const applied = seqs[Math.floor(seqs.length / 2)];
    // A route whose worker is behind: its job stays unfinished (nobody takes it), so it applied only what it reports.
    await consumer.pause();
    await catalog.upsertRoute({ id: 'r3', sourceId: 'src', table: 't', targetId: 'tgt', targetTable: 't3', enabled: true });
    await control.knex('tributary_route_progress').where({ route_id: 'r3' }).update({ watermark: applied });
    const relay = startRelay('relay-purge', { retentionMs: 0, purgeIntervalMs: 50, purgeChunkRows: 7 });
    try {
      await waitFor(async () => (await outboxSeqs())[0] > applied, { what: 'the purge' });
      expect(await outboxSeqs()).toEqual(seqs.filter((seq) => seq > applied));
    } finally {
      await relay.stop();
      await catalog.deleteRoute('r3');
      consumer.resume();
    }
  });

  it('closes a hole by timeout only as a last resort, counts it, and still delivers a commit that comes later', async () => {
    const relay = startRelay('relay-timeout', { holeTimeoutMs: 300 });
    const [a, b] = [await writer(), await writer()];
    await a.query('BEGIN');
    await insertChange(a, 7000);
    await insertChange(b, 7001);
    const last = (await outboxSeqs()).pop()!;
    const held = last - 1;
    await waitFor(async () => (await progress.loadRelayState('src'))?.watermark === last, { what: 'the timeout to close the hole' });
    const timeouts = async () => (await metrics.holesClosed.get()).values.find((v) => v.labels.how === 'timeout')?.value ?? 0;
    expect(await timeouts()).toBeGreaterThanOrEqual(1);
    expect(await deliveredSeqs()).not.toContain(held);

    await a.query('COMMIT'); // the transaction was slow, not dead
    await waitFor(async () => (await deliveredSeqs()).includes(held), { what: 'the late commit to be delivered' });
    expect((await metrics.lateCommits.get()).values[0]?.value).toBe(1);
    await relay.stop();
  });

  it('does not feed a paused route (so it cannot stall the others) and catches it up when resumed', async () => {
    const relay = startRelay('relay-pause', { retentionMs: 0, purgeIntervalMs: 50 });
    const position = async () => (await progress.loadRelayState('src'))!.watermark;
    await waitFor(async () => (await position()) > 0, { what: 'the relay to lead' });
    // r1 has applied everything so far (as its worker would report); r2 joins now.
    await progress.recordApplied('r1', { watermark: await position(), maxSeq: 0, count: 0, lastChangeTs: null });
    await catalog.upsertRoute({ id: 'r2', sourceId: 'src', table: 't', targetId: 'tgt', targetTable: 't2', enabled: true });
    await catalog.setRouteEnabled('r1', false);
    await sleep(settings.configRefreshMs * 3);

    const connection = await writer();
    await insertChange(connection, 8000);
    const paused = (await outboxSeqs()).pop()!;
    await waitFor(async () => (await deliveredSeqs('r2')).includes(paused), { what: 'the other route to get the change' });
    expect(await deliveredSeqs('r1')).not.toContain(paused);
    // Even when every other route has applied it, the purge keeps it for the paused route.
    await progress.recordApplied('r2', { watermark: paused, maxSeq: paused, count: 1, lastChangeTs: null });
    await sleep(300);
    expect(await outboxSeqs()).toContain(paused);

    await catalog.setRouteEnabled('r1', true);
    await waitFor(async () => (await deliveredSeqs('r1')).includes(paused), { what: 'the resumed route to catch up' });
    await relay.stop();
  });

  it("keeps one range job per route unfinished in the source's queue, and groups what arrives meanwhile into the next", async () => {
    const relay = startRelay('relay-one');
    const connection = await writer();
    await insertChange(connection, 9000);
    const first = (await outboxSeqs()).pop()!;
    await waitFor(async () => (await deliveredSeqs('r1')).includes(first), { what: 'the first change delivered' });
    // The workers stall: the next job of each route is added, and stays the only one.
    await consumer.pause();
    for (let id = 9001; id <= 9010; id++) await insertChange(connection, id);
    const seqs = (await outboxSeqs()).slice(-10);
    const unfinished = async (routeId: string) => (await queues.unfinishedJobs('src')).filter((job) => 'routeId' in job.data && job.data.routeId === routeId);
    await waitFor(async () => (await unfinished('r1')).length === 1 && (await unfinished('r2')).length === 1, { what: "each route's next job" });
    for (let id = 9011; id <= 9020; id++) await insertChange(connection, id);
    await sleep(300);
    expect((await unfinished('r1')).length).toBe(1);
    expect((await unfinished('r2')).length).toBe(1);
    const before = received.length;
    consumer.resume();
    const last = (await outboxSeqs()).pop()!;
    await waitFor(async () => (await deliveredSeqs('r1')).includes(last) && (await deliveredSeqs('r2')).includes(last), { what: 'the rest delivered' });
    // Per route: the job that waited, then one job with the ten changes that arrived meanwhile.
    const after = received.slice(before).filter((data) => 'routeId' in data && data.routeId === 'r1') as RangeJobData[];
    expect(after).toHaveLength(2);
    expect(seqs.every((seq) => after.some((job) => job.ranges.some((range) => seq >= range.from && seq <= range.to)))).toBe(true);
    await relay.stop();
  });
});

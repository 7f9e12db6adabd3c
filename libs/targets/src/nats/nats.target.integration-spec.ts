import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { NatsConnection } from '@nats-io/nats-core';
import { crc32, Row, RowChange, TargetTableSpec } from '@tributary/model';
import { TargetConfigError, TransientTargetError } from '../errors';
import { proxyInFrontOf } from '@tributary/testing';
import { ChangeEvent, keyToken } from '../events/change-event';
import { ApplyBatch, ApplyHooks, RejectedChange } from '../target';
import { columnSpec, describeTargetContract } from '../test-kit/target.contract';
import { NatsTarget, natsTargetFactory } from './nats.target';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** A stream name and subject prefix of this run only (the server is shared with other suites). */
function unique(): { stream: string; subjectPrefix: string } {
  const run = randomBytes(5).toString('hex');
  return { stream: `TRB_TEST_${run}`, subjectPrefix: `trbtest${run}` };
}

async function withManager<T>(work: (jsm: JetStreamManager, nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: NATS_URL.replace(/^nats:\/\//, '') });
  try {
    return await work(await jetstreamManager(nc), nc);
  } finally {
    await nc.close();
  }
}

async function deleteStream(stream: string): Promise<void> {
  await withManager((jsm) => jsm.streams.delete(stream)).catch(() => undefined);
}

describeTargetContract(
  'nats',
  async () => {
    const names = unique();
    const target = new NatsTarget({ kind: 'nats', url: NATS_URL, options: names });
    return {
      target,
      async teardown() {
        await target.close();
        await deleteStream(names.stream);
      },
      unreachable: (password) => new NatsTarget({ kind: 'nats', url: `nats://tributary:${password}@127.0.0.1:1`, options: { ...unique(), connectTimeoutMs: 1000, timeoutMs: 1000 } }),
    };
  },
  {
    refusesRows: false,
    rollsBackOnHookFailure: false,
    detectsConflicts: natsTargetFactory.detectsConflicts,
    prepares: false,
    versionsPerSource: natsTargetFactory.versionsPerSource,
    rowsFollowSteps: false,
  },
);

const noHooks: ApplyHooks = {
  async recordRejected(rejected) {
    throw new Error(`unexpected rejections: ${rejected.map((r) => `${r.change.seq}: ${r.reason}`).join('; ')}`);
  },
};

const table: TargetTableSpec = {
  name: 'items',
  columns: [
    columnSpec('id', 'int', 'int(11)', { nullable: false }),
    columnSpec('name', 'string', 'varchar(40)'),
    columnSpec('n', 'int', 'int(11)'),
  ],
  key: ['id'],
};

function batch(changes: RowChange[], over: Partial<ApplyBatch> = {}): ApplyBatch {
  return {
    routeId: 'route-1',
    table,
    changes,
    watermark: Math.max(0, ...changes.map((c) => c.seq)),
    origin: 'tributary:shop',
    source: { id: 'shop', table: 'items_src', schemaHash: 'h1' },
    ...over,
  };
}

function upsert(seq: number, id: number, name: string, op: 'insert' | 'update' = 'insert'): RowChange {
  const row = { id, name, n: seq };
  return { seq, op, key: { id }, before: op === 'update' ? { id, name: 'before', n: 0 } : null, after: row };
}

/** Every message of the stream, in stream order. */
async function streamMessages(stream: string, filter: string): Promise<{ seq: number; subject: string; headers: Record<string, string>; event: ChangeEvent }[]> {
  return withManager(async (jsm, nc) => {
    const info = await jsm.streams.info(stream);
    if (info.state.messages === 0) return [];
    const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.All });
    if ((await consumer.info()).num_pending === 0) return [];
    const messages = await consumer.consume({ max_messages: 500 });
    const read: { seq: number; subject: string; headers: Record<string, string>; event: ChangeEvent }[] = [];
    for await (const message of messages) {
      const headers: Record<string, string> = {};
      for (const [name, values] of message.headers ?? []) headers[name] = values[0];
      read.push({ seq: message.seq, subject: message.subject, headers, event: message.json<ChangeEvent>() });
      if (message.info.pending === 0) break;
    }
    messages.stop();
    return read;
  });
}

describe('NatsTarget specifics', () => {
  const made: string[] = [];
  const targets: NatsTarget[] = [];

  /** A target on a stream of its own, removed after the suite. */
  function fresh(options: Record<string, unknown> = {}): { target: NatsTarget; stream: string; subjectPrefix: string } {
    const names = unique();
    made.push(names.stream);
    const target = new NatsTarget({ kind: 'nats', url: NATS_URL, options: { ...names, ...options } });
    targets.push(target);
    return { target, ...names };
  }

  afterAll(async () => {
    for (const target of targets) await target.close();
    for (const stream of made) await deleteStream(stream);
  });

  it('publishes a batch applied twice once: the second time every event is skipped and the stream is unchanged', async () => {
    const { target, stream, subjectPrefix } = fresh();
    await target.ensureTable(table);
    const changes = [upsert(1, 1, 'a'), upsert(2, 2, 'b'), upsert(3, 1, 'a2', 'update'), { seq: 4, op: 'delete' as const, key: { id: 2 }, before: { id: 2, name: 'b', n: 2 }, after: null }];
    expect(await target.apply(batch(changes), noHooks)).toEqual({ applied: 2, skipped: 0, rejected: [] });
    const stored = (await withManager((jsm) => jsm.streams.info(stream))).state.messages;
    expect(stored).toBe(4);
    expect(await target.apply(batch(changes), noHooks)).toEqual({ applied: 0, skipped: 2, rejected: [] });
    // Another process (no remembered subjects): the guard reads the subjects, or the duplicate window drops them.
    const other = new NatsTarget({ kind: 'nats', url: NATS_URL, options: { stream, subjectPrefix } });
    targets.push(other);
    expect(await other.apply(batch(changes), noHooks)).toEqual({ applied: 0, skipped: 2, rejected: [] });
    expect((await withManager((jsm) => jsm.streams.info(stream))).state.messages).toBe(stored);
  });

  it('keeps each key in increasing seq through batches of 2,000 changes over 50 keys, whatever maxInFlight', async () => {
    for (const maxInFlight of [1, 4, 1000]) {
      const { target, stream, subjectPrefix } = fresh({ maxInFlight, buckets: 4 });
      await target.ensureTable(table);
      // Keys in random order, seqs increasing: many changes of one key in each batch.
      const changes = Array.from({ length: 2000 }, (_, i) => {
        const id = 1 + Math.floor(Math.random() * 50);
        return upsert(i + 1, id, `v${i + 1}`, 'insert');
      });
      let published = 0;
      for (let at = 0; at < changes.length; at += 500) {
        const result = await target.apply(batch(changes.slice(at, at + 500)), noHooks);
        published += result.applied;
      }
      const messages = await streamMessages(stream, `${subjectPrefix}.>`);
      expect(messages).toHaveLength(2000); // every change is an event, not only each key's last
      const last = new Map<string, number>();
      const outOfOrder: string[] = [];
      for (const { event } of messages) {
        const key = JSON.stringify(event.key);
        if ((last.get(key) ?? 0) >= event.seq) outOfOrder.push(`${key}: ${event.seq} after ${last.get(key)}`);
        last.set(key, event.seq);
      }
      expect({ maxInFlight, outOfOrder }).toEqual({ maxInFlight, outOfOrder: [] });
      expect(published).toBeLessThanOrEqual(4 * 50);
      // The fold reads every key's last change.
      const rows = await target.readRows(table);
      expect(rows).toHaveLength(new Set(changes.map((c) => c.key.id)).size);
      for (const row of rows) expect(row.n).toBe(Math.max(...changes.filter((c) => c.key.id === row.id).map((c) => c.seq)));
    }
  });

  it('publishes the documented event format, one message per change (a key move also deletes the key it left)', async () => {
    const { target, stream, subjectPrefix } = fresh({ buckets: 8 });
    const spec: TargetTableSpec = {
      name: 'odd$table',
      columns: [columnSpec('code', 'string', 'varchar(20)', { nullable: false }), columnSpec('bin', 'binary', 'varbinary(4)'), columnSpec('big', 'bigint', 'bigint(20)')],
      key: ['code'],
    };
    await target.ensureTable(spec);
    const row = (code: string, n: string): Row => ({ code, bin: Buffer.from([0, 255]), big: n });
    const changes: RowChange[] = [
      { seq: 10, op: 'insert', key: { code: 'a.b c' }, before: null, after: row('a.b c', '9007199254740993'), ts: 1_700_000_000_000_001, copy: true },
      { seq: 11, op: 'update', key: { code: 'a.b c' }, before: row('a.b c', '9007199254740993'), after: row('a.b c', '1'), ts: 1_700_000_000_000_002 },
      { seq: 12, op: 'update', key: { code: 'moved' }, before: row('a.b c', '1'), after: row('moved', '2') },
      { seq: 13, op: 'delete', key: { code: 'moved' }, before: row('moved', '2'), after: null, ts: 1_700_000_000_000_004 },
    ];
    const applied = await target.apply(batch(changes, { table: spec, routeId: 'route-9.p1of2' }), noHooks);
    expect(applied).toEqual({ applied: 2, skipped: 0, rejected: [] }); // each key's last write: a.b c deleted by the move, moved deleted
    const messages = await streamMessages(stream, `${subjectPrefix}.>`);
    const subjectOf = (key: Record<string, string>) => `${subjectPrefix}.shop.odd%24table.${crc32(Buffer.from(JSON.stringify(key))) % 8}.${keyToken(key)}`;
    expect(subjectOf({ code: 'a.b c' })).toMatch(/\.a%2Eb%20c$/);
    const base = { v: 1, source: 'shop', table: 'odd$table', sourceTable: 'items_src', route: 'route-9', schema: 'h1' };
    const wire = (code: string, big: string) => ({ code, bin: 'AP8=', big });
    const expected = [
      [{ code: 'a.b c' }, { ...base, id: expect.stringMatching(/^route-9:10:[0-9a-f]{16}$/), op: 'insert', copy: true, seq: 10, ts: 1_700_000_000_000_001, key: { code: 'a.b c' }, before: null, after: wire('a.b c', '9007199254740993') }],
      [{ code: 'a.b c' }, { ...base, id: expect.stringMatching(/^route-9:11:/), op: 'update', copy: false, seq: 11, ts: 1_700_000_000_000_002, key: { code: 'a.b c' }, before: wire('a.b c', '9007199254740993'), after: wire('a.b c', '1') }],
      // The move: the key it left gets a delete (its id is that of a delete of that key at seq 12), the new key the update.
      [{ code: 'a.b c' }, { ...base, id: expect.stringMatching(/^route-9:12:/), op: 'delete', copy: false, seq: 12, ts: null, key: { code: 'a.b c' }, before: wire('a.b c', '1'), after: null }],
      [{ code: 'moved' }, { ...base, id: expect.stringMatching(/^route-9:12:/), op: 'update', copy: false, seq: 12, ts: null, key: { code: 'moved' }, before: wire('a.b c', '1'), after: wire('moved', '2') }],
      [{ code: 'moved' }, { ...base, id: expect.stringMatching(/^route-9:13:/), op: 'delete', copy: false, seq: 13, ts: 1_700_000_000_000_004, key: { code: 'moved' }, before: wire('moved', '2'), after: null }],
    ] as const;
    // Per key in publish order; the two keys' messages may interleave.
    const order = (a: { event: ChangeEvent }, b: { event: ChangeEvent }) => a.event.seq - b.event.seq || (a.event.op === 'delete' ? -1 : 1);
    expect([...messages].sort(order).map((m) => ({ subject: m.subject, event: m.event }))).toEqual(expected.map(([key, event]) => ({ subject: subjectOf(key), event })));
    for (const code of ['a.b c', 'moved']) {
      const seqs = messages.filter((m) => m.subject === subjectOf({ code })).map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    const [first, second, left, moved] = [...messages].sort(order);
    expect(new Set([first, second, left, moved].map((m) => m.event.id)).size).toBe(4);
    for (const message of messages) {
      expect(message.headers).toEqual({ 'Nats-Msg-Id': message.event.id, 'Tributary-Event-Version': '1', 'Content-Type': 'application/json', 'Nats-Expected-Stream': stream, 'Nats-Expected-Last-Subject-Sequence': expect.stringMatching(/^\d+$/) });
    }
    expect(await target.readRows(spec)).toEqual([]);
  });

  it('refuses a stream whose subjects do not take the prefix, and a missing stream it may not create', async () => {
    const { target, stream, subjectPrefix } = fresh();
    await withManager((jsm) => jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}-other.>`, `${subjectPrefix}.shop.*.*`] }));
    const error = await target.ensureTable(table).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetConfigError);
    expect(String(error)).toContain(`not every subject under ${subjectPrefix}.>`);
    expect(await target.apply(batch([upsert(1, 1, 'a')]), noHooks).catch((e: unknown) => e)).toBeInstanceOf(TargetConfigError);
    expect(await target.checkTable(table)).toEqual([expect.stringContaining(`stream ${stream} takes subjects`)]);
    // A stream of its own whose filters cover the subjects exactly is fine.
    const covered = fresh();
    await withManager((jsm) => jsm.streams.add({ name: covered.stream, subjects: [`${covered.subjectPrefix}.*.*.*.*`] }));
    await covered.target.ensureTable(table);
    expect(await covered.target.apply(batch([upsert(1, 1, 'a')]), noHooks)).toMatchObject({ applied: 1 });
    // Without createStream, a missing stream is a configuration error.
    const absent = fresh({ createStream: false });
    await expect(absent.target.ensureTable(table)).rejects.toThrow(/does not exist .*createStream is false/);
    expect(await absent.target.checkTable(table)).toEqual([expect.stringContaining('does not exist')]);
    // Another stream already taking the prefix's subjects.
    const clash = fresh();
    await withManager((jsm) => jsm.streams.add({ name: `${clash.stream}_X`, subjects: [`${clash.subjectPrefix}.>`] }));
    made.push(`${clash.stream}_X`);
    await expect(clash.target.ensureTable(table)).rejects.toThrow(/another stream .* already takes subjects/);
  });

  it('never puts the password of the url into an error', async () => {
    const secret = 'pa55-w0rd-n0t-here';
    const encoded = 'p%40ss%2Fw0rd%3Asecret';
    for (const url of [`nats://tributary:${secret}@127.0.0.1:1`, `tls://tributary:${encoded}@127.0.0.1:1`, `nats://tributary:${encoded}@127.0.0.1:1`]) {
      const down = new NatsTarget({ kind: 'nats', url, options: { ...unique(), connectTimeoutMs: 500, timeoutMs: 500 } });
      targets.push(down);
      for (const attempt of [() => down.ping(), () => down.ensureTable(table), () => down.apply(batch([upsert(1, 1, 'a')]), noHooks), () => down.readRows(table), () => down.checkTable(table)]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TransientTargetError);
        const shown = `${String(error)} ${inspect(error, { depth: 8 })}`;
        for (const hidden of [secret, encoded, decodeURIComponent(encoded)]) expect(shown).not.toContain(hidden);
        expect(shown).toContain('127.0.0.1:1');
      }
    }
    // Bad urls and options are refused before connecting, without the password either.
    for (const url of [`http://u:${secret}@h`, `nats://u:${secret}@h/path`, `nats://u:${secret}@h?x=1`, `nats://u:${secret}@`]) {
      const error = (() => {
        try {
          return new NatsTarget({ kind: 'nats', url });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(TargetConfigError);
      expect(String(error)).not.toContain(secret);
    }
  });

  it('turns an event larger than max_payload into a dead letter and publishes the rest', async () => {
    const { target } = fresh();
    await target.ensureTable(table);
    const huge = { seq: 2, op: 'insert' as const, key: { id: 2 }, before: null, after: { id: 2, name: 'x'.repeat(1024 * 1024), n: 2 } };
    const recorded: RejectedChange[] = [];
    const result = await target.apply(batch([upsert(1, 1, 'a'), huge, upsert(3, 3, 'c')]), { recordRejected: async (rejected) => void recorded.push(...rejected) });
    expect(result).toMatchObject({ applied: 2, skipped: 0 });
    expect(result.rejected.map((r) => r.change.seq)).toEqual([2]);
    expect(result.rejected[0].reason).toMatch(/more than the NATS server takes in one message \(max_payload \d+ bytes\)/);
    expect(recorded).toEqual(result.rejected);
    expect((await target.readRows(table)).map((r) => r.id)).toEqual([1, 3]);
    // Retried (a dead letter) while still too large: refused again, nothing published.
    expect((await target.apply(batch([huge], { reapply: true, watermark: 0 }), { recordRejected: async () => undefined })).rejected).toHaveLength(1);
  });

  it("turns an event larger than the stream's max_msg_size into a dead letter, in the server's words", async () => {
    const { target, stream, subjectPrefix } = fresh();
    await withManager((jsm) => jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`], max_msg_size: 2000 }));
    await target.ensureTable(table);
    const big = { seq: 2, op: 'insert' as const, key: { id: 2 }, before: null, after: { id: 2, name: 'x'.repeat(3000), n: 2 } };
    const recorded: RejectedChange[] = [];
    const result = await target.apply(batch([upsert(1, 1, 'a'), big]), { recordRejected: async (rejected) => void recorded.push(...rejected) });
    expect(result).toEqual({ applied: 1, skipped: 0, rejected: [{ change: big, code: '10054', reason: expect.stringContaining('the stream refused the change event') }] });
    expect(recorded).toEqual(result.rejected);
  });

  it('fails a batch as transient while the server is cut off, and publishes it once when it is back', async () => {
    const { proxy, url } = await proxyInFrontOf(NATS_URL);
    const names = unique();
    made.push(names.stream);
    const target = new NatsTarget({ kind: 'nats', url, options: { ...names, timeoutMs: 1500, connectTimeoutMs: 1000 } });
    targets.push(target);
    try {
      await target.ensureTable(table);
      expect(await target.apply(batch([upsert(1, 1, 'a')]), noHooks)).toMatchObject({ applied: 1 });
      await proxy.down();
      const changes = Array.from({ length: 200 }, (_, i) => upsert(i + 2, (i % 20) + 1, `v${i + 2}`));
      const cut = await target.apply(batch(changes), noHooks).catch((e: unknown) => e);
      expect(cut).toBeInstanceOf(TransientTargetError);
      await expect(target.ping()).rejects.toBeInstanceOf(TransientTargetError);
      await proxy.up();
      // The client reconnects by itself; the worker retries the whole batch, in order.
      let result = await target.apply(batch(changes), noHooks).catch((e: unknown) => e);
      for (let attempt = 0; result instanceof TransientTargetError && attempt < 20; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        result = await target.apply(batch(changes), noHooks).catch((e: unknown) => e);
      }
      expect(result).toEqual({ applied: 20, skipped: 0, rejected: [] });
      const messages = await streamMessages(names.stream, `${names.subjectPrefix}.>`);
      expect(messages).toHaveLength(201);
      expect(new Set(messages.map((m) => m.event.id)).size).toBe(201);
    } finally {
      await proxy.down();
    }
  });

  it('publishes a retried dead letter at the seq its key holds, and skips one a newer change superseded', async () => {
    const { target, stream, subjectPrefix } = fresh();
    await target.ensureTable(table);
    await target.apply(batch([upsert(5, 1, 'first'), upsert(6, 2, 'other')]), noHooks);
    // Another process retries dead letters: key 1 at its own seq (published again), key 2 at an older one.
    const other = new NatsTarget({ kind: 'nats', url: NATS_URL, options: { stream, subjectPrefix } });
    targets.push(other);
    const retried = await other.apply(batch([upsert(5, 1, 'fixed'), upsert(4, 2, 'old')], { reapply: true, watermark: 0 }), noHooks);
    expect(retried).toEqual({ applied: 1, skipped: 1, rejected: [], superseded: [4] });
    expect((await target.readRows(table)).map((row) => row.name)).toEqual(['fixed', 'other']);
    const messages = await streamMessages(stream, `${subjectPrefix}.>`);
    expect(messages.map((m) => [m.event.seq, m.event.after?.name])).toEqual([
      [5, 'first'],
      [6, 'other'],
      [5, 'fixed'],
    ]);
    // Its de-duplication id names the message it follows; the event keeps its id.
    expect(messages[2].headers['Nats-Msg-Id']).toBe(`${messages[2].event.id}:r${messages[0].seq}`);
    expect(messages[2].event.id).toBe(messages[0].event.id);
  });

  it('keeps each key in increasing seq when two processes publish the same keys at once', async () => {
    const { target, stream, subjectPrefix } = fresh({ maxInFlight: 8 });
    const other = new NatsTarget({ kind: 'nats', url: NATS_URL, options: { stream, subjectPrefix, maxInFlight: 8 } });
    targets.push(other);
    await Promise.all([target.ensureTable(table), other.ensureTable(table)]);
    for (let round = 0; round < 5; round += 1) {
      const base = round * 1000;
      const ids = Array.from({ length: 40 }, (_, i) => i + 1);
      // Two routes: each key gets an older change from one and a newer from the other.
      const older = batch(ids.map((id) => upsert(base + id, id, `older${round}`, 'update')), { routeId: 'a' });
      const newer = batch(ids.map((id) => upsert(base + 500 + id, id, `newer${round}`, 'update')), { routeId: 'b' });
      const [first, second] = round % 2 === 0 ? [older, newer] : [newer, older];
      await Promise.all([target.apply(first, noHooks), other.apply(second, noHooks)]);
      expect(new Set((await target.readRows(table)).map((row) => row.name))).toEqual(new Set([`newer${round}`]));
    }
    const last = new Map<string, number>();
    for (const { event } of await streamMessages(stream, `${subjectPrefix}.>`)) {
      const key = JSON.stringify(event.key);
      expect(event.seq).toBeGreaterThan(last.get(key) ?? 0);
      last.set(key, event.seq);
    }
  });

  it('validates its options', () => {
    const make = (options: Record<string, unknown>) => () => new NatsTarget({ kind: 'nats', url: NATS_URL, options });
    expect(make({ stream: 'a.b' })).toThrow(/option stream must be/);
    expect(make({ subjectPrefix: 'a.*' })).toThrow(/option subjectPrefix must be/);
    expect(make({ subjectPrefix: 'a..b' })).toThrow(/option subjectPrefix must be/);
    expect(make({ buckets: 0 })).toThrow(/option buckets must be an integer from 1 to 1024/);
    expect(make({ maxInFlight: 1e9 })).toThrow(/option maxInFlight/);
    expect(make({ createStream: 'yes' })).toThrow(/option createStream must be true or false/);
    expect(make({ streem: 'X' })).toThrow(/unknown option streem/);
    expect(make({})).not.toThrow();
    expect(natsTargetFactory.create({ kind: 'nats', url: 'tls://user:pw@[::1]:4223' }).kind).toBe('nats');
  });
});

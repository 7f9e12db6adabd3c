import { Knex } from 'knex';
import { migrateControl } from '@tributary/db';
import { WireChange } from '@tributary/model';
import { createMysqlDatabase, TestDatabase } from '@tributary/testing';
import { openMysql } from './control-database';
import { conflictKeyHash, ConflictDecision, ConflictInput, ConflictRepository } from './conflict.repository';

function conflict(seq: number, overrides: Partial<ConflictInput> & { id?: number } = {}): ConflictInput {
  const id = overrides.id ?? seq;
  const change: WireChange = {
    seq,
    table: 'items',
    op: 'update',
    pk: `{"id":${id}}`,
    before: `{"id":${id},"qty":1}`,
    after: `{"id":${id},"qty":2}`,
    origin: null,
    ts: 1,
    schema: 'h',
  };
  const decision: ConflictDecision = overrides.decision ?? 'parked';
  return {
    routeId: 'r',
    seq,
    table: 'items',
    op: 'update',
    kind: 'mismatch',
    keyText: `[${id}]`,
    policy: decision === 'parked' ? 'manual' : 'source-wins',
    decision,
    reason: 'target row differs from the before image',
    incomingBefore: { id, qty: 1 },
    incomingAfter: { id, qty: 2, blob: { $b64: 'AAE=' } },
    targetRow: { id, qty: 7 },
    resultRow: decision === 'parked' ? null : { id, qty: 2 },
    change,
    ...overrides,
  };
}

describe('ConflictRepository (MariaDB)', () => {
  let database: TestDatabase;
  let knex: Knex;
  let conflicts: ConflictRepository;

  beforeAll(async () => {
    database = await createMysqlDatabase('trib_cf');
    knex = openMysql(database.url);
    await migrateControl(knex);
    conflicts = new ConflictRepository(knex);
  });

  afterAll(async () => {
    await knex?.destroy();
    await database?.drop();
  });

  beforeEach(async () => {
    await knex('tributary_conflicts').delete();
  });

  it('records each (route, seq) once, keeping the first; rows come back parsed, parked ones open', async () => {
    await conflicts.record([conflict(1), conflict(2, { decision: 'applied' })]);
    // A retried batch records the same conflicts again (with another reason): ignored.
    await conflicts.record([conflict(1, { reason: 'again' }), conflict(2, { decision: 'kept', reason: 'again' }), conflict(3)]);

    const all = await conflicts.list('r');
    expect(all.map((c) => c.seq)).toEqual([3, 2, 1]);
    const [, applied, parked] = all;
    expect(parked).toMatchObject({
      routeId: 'r',
      seq: 1,
      table: 'items',
      op: 'update',
      kind: 'mismatch',
      keyText: '[1]',
      keyHash: conflictKeyHash('[1]'),
      policy: 'manual',
      decision: 'parked',
      status: 'open',
      reason: 'target row differs from the before image',
      incomingBefore: { id: 1, qty: 1 },
      incomingAfter: { id: 1, qty: 2, blob: { $b64: 'AAE=' } },
      targetRow: { id: 1, qty: 7 },
      resultRow: null,
      resolvedBy: null,
      resolvedAt: null,
      resolution: null,
      resolutionRow: null,
    });
    expect(parked.change.pk).toBe('{"id":1}');
    expect(parked.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(parked.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(applied).toMatchObject({ decision: 'applied', status: 'resolved', reason: 'target row differs from the before image', resultRow: { id: 2, qty: 2 } });
    expect(await conflicts.get(parked.id)).toEqual(parked);
    expect(await conflicts.get(parked.id + 1000)).toBeNull();
  });

  it('lists newest first, filtered by status, decision and kind, in pages by beforeId', async () => {
    await conflicts.record([
      conflict(1),
      conflict(2, { decision: 'applied' }),
      conflict(3, { decision: 'kept', kind: 'missing' }),
      conflict(4),
      conflict(5, { routeId: 'other' }),
    ]);
    expect((await conflicts.list('r', { status: 'open' })).map((c) => c.seq)).toEqual([4, 1]);
    expect((await conflicts.list('r', { status: 'resolved' })).map((c) => c.seq)).toEqual([3, 2]);
    expect((await conflicts.list('r', { status: 'all', decision: 'kept' })).map((c) => c.seq)).toEqual([3]);
    expect((await conflicts.list('r', { kind: 'missing' })).map((c) => c.seq)).toEqual([3]);
    const page = await conflicts.list('r', { limit: 2 });
    expect(page.map((c) => c.seq)).toEqual([4, 3]);
    expect((await conflicts.list('r', { limit: 2, beforeId: page[1].id })).map((c) => c.seq)).toEqual([2, 1]);
    expect(await conflicts.list('nobody')).toEqual([]);
  });

  it('counts open conflicts per route and finds keys with open or resolving ones', async () => {
    await conflicts.record([
      conflict(1, { id: 10 }),
      conflict(2, { id: 10 }),
      conflict(3, { id: 11 }),
      conflict(4, { id: 12, decision: 'applied' }),
      conflict(5, { id: 10, routeId: 'other' }),
    ]);
    expect(await conflicts.countOpen()).toEqual(
      new Map([
        ['r', 3],
        ['other', 1],
      ]),
    );
    expect(await conflicts.countOpen(['r'])).toEqual(new Map([['r', 3]]));
    expect(await conflicts.countOpen([])).toEqual(new Map());

    const [h10, h11, h12, h13] = ['[10]', '[11]', '[12]', '[13]'].map(conflictKeyHash);
    expect(await conflicts.openKeys('r', [h10, h11, h12, h13, h10])).toEqual(new Set([h10, h11]));
    expect(await conflicts.openKeys('r', [])).toEqual(new Set());

    const key10 = await conflicts.openForKey('r', h10);
    expect(key10.map((c) => c.seq)).toEqual([1, 2]);
    // A claimed (resolving) key is still held; it no longer counts as open.
    await conflicts.claimForResolution(
      key10.map((c) => c.id),
      { actor: 'alice', action: 'apply-source', row: null },
    );
    expect(await conflicts.openKeys('r', [h10])).toEqual(new Set([h10]));
    expect(await conflicts.openForKey('r', h10)).toEqual([]);
    expect((await conflicts.countOpen(['r'])).get('r')).toBe(1);
  });

  it('claims open conflicts once, releases a claim, and resolves with who, when and what', async () => {
    await conflicts.record([conflict(1), conflict(2), conflict(3, { decision: 'applied' })]);
    const ids = (await conflicts.list('r', { status: 'all' })).map((c) => c.id);

    const [a, b] = await Promise.all([
      conflicts.claimForResolution(ids, { actor: 'a', action: 'merge', row: { id: 1, qty: 5 } }),
      conflicts.claimForResolution(ids, { actor: 'b', action: 'apply-source', row: null }),
    ]);
    expect([a.length, b.length].sort()).toEqual([0, 2]);
    const claimed = a.length ? a : b;
    expect(claimed.map((c) => c.seq)).toEqual([1, 2]);
    expect(claimed[0].status).toBe('resolving');
    expect(claimed[0].resolvedAt).toBeInstanceOf(Date);
    expect(claimed[0].resolvedBy).toBe(a.length ? 'a' : 'b');

    await conflicts.releaseClaim(claimed.map((c) => c.id));
    const released = await conflicts.get(claimed[0].id);
    expect(released).toMatchObject({ status: 'open', resolvedBy: null, resolvedAt: null, resolution: null, resolutionRow: null });

    const merged = await conflicts.claimForResolution(
      claimed.map((c) => c.id),
      { actor: 'carol', action: 'merge', row: { id: 1, qty: 5 } },
    );
    expect(merged.map((c) => c.resolutionRow)).toEqual([
      { id: 1, qty: 5 },
      { id: 1, qty: 5 },
    ]);
    // Keep-target resolves only open ones: these are in flight.
    expect(
      await conflicts.resolve(
        merged.map((c) => c.id),
        { actor: 'dave', action: 'keep-target', row: null, from: ['open'] },
      ),
    ).toEqual([]);

    const done = await conflicts.resolve(
      merged.map((c) => c.id),
      { actor: 'carol', action: 'merge', row: { id: 1, qty: 5 }, note: 'job x' },
    );
    expect(done.map((c) => c.status)).toEqual(['resolved', 'resolved']);
    expect(done[0]).toMatchObject({ resolvedBy: 'carol', resolution: 'merge', resolutionRow: { id: 1, qty: 5 } });
    // Settled: neither claimed, released nor resolved again.
    expect(await conflicts.claimForResolution(ids, { actor: 'e', action: 'apply-source', row: null })).toEqual([]);
    await conflicts.releaseClaim(ids);
    expect(await conflicts.resolve(ids, { actor: 'e', action: 'keep-target', row: null })).toEqual([]);
    expect((await conflicts.get(done[0].id))?.resolvedBy).toBe('carol');
  });

  it('keeps a long multi-byte reason within the column', async () => {
    const reason = 'é'.repeat(40_000); // 80,000 bytes
    await conflicts.record([conflict(1, { reason })]);
    const [stored] = await conflicts.list('r');
    expect(Buffer.byteLength(stored.reason)).toBeLessThanOrEqual(65_000);
    expect(stored.reason.startsWith('éé')).toBe(true);
  });
});

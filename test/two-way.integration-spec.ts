import { ConflictRepository } from '@tributary/control';
import { createMysqlDatabase, createPipeline, freePort, KV_DDL, KV_SEED, kvWorkload, Pipeline, sleep, TestDatabase, waitFor } from '@tributary/testing';

describe('two-way replication A ⇄ B between MariaDB databases, newer-wins', () => {
  let pipeline: Pipeline;
  let b: TestDatabase;
  let conflicts: ConflictRepository;

  beforeAll(async () => {
    pipeline = await createPipeline();
    b = await createMysqlDatabase('trib_two_way_b');
    const a = pipeline.source;
    for (const side of [a, b]) {
      await side.knex.raw(KV_DDL);
      await side.knex.raw(KV_SEED); // both sides start equal, before capture
    }
    // Each database is a source and a target under ONE name, so Tributary's own writes there
    // (origin tributary:<other>) are never sent back where they came from.
    await pipeline.setup.addSource('a', a.url);
    await pipeline.setup.addSource('b', b.url);
    await pipeline.setup.captureTable('a', 'kv');
    await pipeline.setup.captureTable('b', 'kv');
    await pipeline.setup.addTarget({ id: 'a', kind: 'mysql', url: a.url, options: {} });
    await pipeline.setup.addTarget({ id: 'b', kind: 'mysql', url: b.url, options: {} });
    const policy = { resolution: 'newer-wins', column: 'updated_at' };
    await pipeline.setup.routes.create({ id: 'a-to-b', sourceId: 'a', table: 'kv', targetId: 'b', initialCopy: false, conflictPolicy: policy });
    await pipeline.setup.routes.create({ id: 'b-to-a', sourceId: 'b', table: 'kv', targetId: 'a', initialCopy: false, conflictPolicy: policy });
    conflicts = new ConflictRepository(pipeline.control.knex);
  });

  afterAll(async () => {
    await pipeline?.teardown();
    await b?.drop();
  });

  const rows = async (side: TestDatabase) =>
    (await side.knex.raw('SELECT id, v, note, CAST(updated_at AS CHAR) AS updated_at FROM kv ORDER BY id'))[0] as Array<Record<string, unknown>>;
  const count = async (side: TestDatabase, where: string) =>
    Number((await side.knex.raw(`SELECT COUNT(*) AS n FROM _tributary_outbox WHERE ${where}`))[0][0].n);
  const maxSeq = async (side: TestDatabase) => Number((await side.knex.raw('SELECT COALESCE(MAX(seq), 0) AS m FROM _tributary_outbox'))[0][0].m);

  /** Both routes have applied everything their source's outbox holds, twice in a row with nothing new: quiet. */
  async function quiesce(): Promise<void> {
    await waitFor(
      async () => {
        const before = [await maxSeq(pipeline.source), await maxSeq(b)];
        const progress = await pipeline.progress.listProgress(['a-to-b', 'b-to-a']);
        const at = (id: string) => progress.find((p) => p.routeId === id)?.watermark ?? 0;
        if (at('a-to-b') < before[0] || at('b-to-a') < before[1]) return false;
        await sleep(500);
        return (await maxSeq(pipeline.source)) === before[0] && (await maxSeq(b)) === before[1];
      },
      { timeoutMs: 60_000, what: 'both directions caught up and quiet' },
    );
  }

  it('converges to the same rows on both sides, explains each conflict, and echoes nothing back', async () => {
    pipeline.start('tributary', { ADMIN_PORT: String(await freePort()) });
    let stop = false;
    const load = Promise.all([
      kvWorkload(pipeline.source.url, 'A', () => stop),
      kvWorkload(pipeline.source.url, 'A', () => stop),
      kvWorkload(b.url, 'B', () => stop),
      kvWorkload(b.url, 'B', () => stop),
    ]);
    await sleep(6000);
    stop = true;
    const written = (await load).reduce((sum, n) => sum + n, 0);
    expect(written).toBeGreaterThan(200);
    try {
      await quiesce();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
    }

    const onA = await rows(pipeline.source);
    const onB = await rows(b);
    expect(onA.length).toBeGreaterThan(10);
    if (JSON.stringify(onA) !== JSON.stringify(onB)) {
      const ids = new Set([...onA, ...onB].map((r) => Number(r.id)).filter((id) => JSON.stringify(onA.find((r) => Number(r.id) === id)) !== JSON.stringify(onB.find((r) => Number(r.id) === id))));
      for (const id of [...ids].slice(0, 2)) {
        const hist = async (side: TestDatabase) => (await side.knex.raw(`SELECT seq, op, origin, before_image, after_image FROM _tributary_outbox WHERE JSON_EXTRACT(pk, '$.id') = ? ORDER BY seq`, [id]))[0];
        const cs = [...(await conflicts.list('a-to-b', { status: 'all', limit: 1000 })), ...(await conflicts.list('b-to-a', { status: 'all', limit: 1000 }))].filter((c) => c.keyText === JSON.stringify([id]));
        console.log(JSON.stringify({ id, a: await hist(pipeline.source), b: await hist(b), conflicts: cs.map((c) => ({ route: c.routeId, seq: c.seq, op: c.op, kind: c.kind, decision: c.decision, reason: c.reason, target: c.targetRow, before: c.incomingBefore, after: c.incomingAfter })) }, null, 1));
      }
    }
    expect(onB).toEqual(onA);

    // Overlapping keys written on both sides conflicted, and every conflict says what newer-wins decided and why.
    const logged = [...(await conflicts.list('a-to-b', { status: 'all', limit: 1000 })), ...(await conflicts.list('b-to-a', { status: 'all', limit: 1000 }))];
    expect(logged.length).toBeGreaterThan(0);
    for (const conflict of logged) {
      expect(['applied', 'kept', 'merged']).toContain(conflict.decision);
      expect(conflict.reason).toMatch(/newer-wins/);
      expect(conflict.status).toBe('resolved');
    }

    // No echo: every write Tributary made on one side came from an application write on the other,
    // never from one of its own writes sent back (which would also never go quiet).
    const appliedOnB = await count(b, "origin = 'tributary:a'");
    const appliedOnA = await count(pipeline.source, "origin = 'tributary:b'");
    expect(appliedOnB).toBeGreaterThan(0);
    expect(appliedOnA).toBeGreaterThan(0);
    expect(appliedOnB).toBeLessThanOrEqual(await count(pipeline.source, 'origin IS NULL'));
    expect(appliedOnA).toBeLessThanOrEqual(await count(b, 'origin IS NULL'));
  });
});

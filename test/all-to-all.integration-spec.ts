import { ConflictRepository } from '@tributary/control';
import { createMysqlDatabase, createPipeline, freePort, KV_DDL, KV_SEED, kvWorkload, Pipeline, sleep, TestDatabase, waitFor } from '@tributary/testing';

/**
 * Multi-leader among three MariaDB databases, all to all (issue #14): each
 * is a source and a target under one name; every ordered pair has a route
 * that passes on only the application's own writes (localOnly), so a change
 * reaches each other node once, straight from where it was made, and
 * nothing goes around. Each node takes changes from two sources into one
 * table (versions per source), ordered by newer-wins on updated_at.
 */
describe('all-to-all among three databases, newer-wins', () => {
  let pipeline: Pipeline;
  const nodes: Array<{ id: string; db: TestDatabase }> = [];
  const routeIds: string[] = [];

  beforeAll(async () => {
    pipeline = await createPipeline();
    nodes.push({ id: 'a', db: pipeline.source }, { id: 'b', db: await createMysqlDatabase('trib_mesh') }, { id: 'c', db: await createMysqlDatabase('trib_mesh') });
    for (const node of nodes) {
      await node.db.knex.raw(KV_DDL);
      await node.db.knex.raw(KV_SEED); // every node starts equal, before capture
      await pipeline.setup.addSource(node.id, node.db.url);
      await pipeline.setup.captureTable(node.id, 'kv');
      await pipeline.setup.addTarget({ id: node.id, kind: 'mysql', url: node.db.url, options: {} });
    }
    const policy = { resolution: 'newer-wins', column: 'updated_at' };
    for (const from of nodes) {
      for (const to of nodes.filter((node) => node !== from)) {
        const id = `${from.id}-to-${to.id}`;
        // The second route into a node's table shares its keys with the first: versions per source there.
        const shared = routeIds.some((other) => other.endsWith(`-to-${to.id}`));
        await pipeline.setup.routes.create({
          id,
          sourceId: from.id,
          table: 'kv',
          targetId: to.id,
          initialCopy: false,
          conflictPolicy: policy,
          localOnly: true,
          ...(shared ? { shareTargetTable: true } : {}),
        });
        routeIds.push(id);
      }
    }
  });

  afterAll(async () => {
    await pipeline?.teardown();
    await Promise.all(nodes.slice(1).map((node) => node.db.drop()));
  });

  const rows = async (db: TestDatabase) =>
    (await db.knex.raw('SELECT id, v, note, CAST(updated_at AS CHAR) AS updated_at FROM kv ORDER BY id'))[0] as Array<Record<string, unknown>>;
  const maxSeq = async (db: TestDatabase) => Number((await db.knex.raw('SELECT COALESCE(MAX(seq), 0) AS m FROM _tributary_outbox'))[0][0].m);
  const outboxCount = async (db: TestDatabase, where: string) => Number((await db.knex.raw(`SELECT COUNT(*) AS n FROM _tributary_outbox WHERE ${where}`))[0][0].n);

  /** Every route has applied what its source's outbox holds, and no outbox grew for half a second: quiet. */
  async function quiesce(): Promise<void> {
    await waitFor(
      async () => {
        const before = await Promise.all(nodes.map((node) => maxSeq(node.db)));
        const progress = await pipeline.progress.listProgress(routeIds);
        for (const route of routeIds) {
          const source = nodes.findIndex((node) => route.startsWith(`${node.id}-to-`));
          if ((progress.find((p) => p.routeId === route)?.watermark ?? 0) < before[source]) return false;
        }
        await sleep(500);
        const after = await Promise.all(nodes.map((node) => maxSeq(node.db)));
        return after.every((seq, i) => seq === before[i]);
      },
      { timeoutMs: 90_000, what: 'every route caught up and every outbox quiet' },
    );
  }

  it('converges to the same rows on every node, sends each change once, and nothing circulates', async () => {
    pipeline.start('tributary', { ADMIN_PORT: String(await freePort()) });
    let stop = false;
    // Updates and upserts of the same keys on every node at once (deletes across three leaders are issue #14's causality part).
    const load = Promise.all(nodes.map((node) => kvWorkload(node.db.url, node.id.toUpperCase(), () => stop, { deletes: false })));
    await sleep(6000);
    stop = true;
    const written = await load;
    expect(written.every((n) => n > 50)).toBe(true);
    await quiesce().catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
    });

    const [onA, onB, onC] = await Promise.all(nodes.map((node) => rows(node.db)));
    expect(onA.length).toBeGreaterThan(10);
    expect(onB).toEqual(onA);
    expect(onC).toEqual(onA);

    // Nothing went around: a node's Tributary writes are at most the other two nodes' application writes
    // (each change applied once, or skipped by newer-wins), never more.
    for (const [i, node] of nodes.entries()) {
      const applied = await outboxCount(node.db, "origin LIKE 'tributary:%'");
      const othersWrote = (await Promise.all(nodes.filter((_, j) => j !== i).map((other) => outboxCount(other.db, 'origin IS NULL')))).reduce((a, b) => a + b, 0);
      expect(applied).toBeGreaterThan(0);
      expect(applied).toBeLessThanOrEqual(othersWrote);
    }
    // Concurrent writes of one key on several nodes conflicted, and newer-wins said why each time.
    const conflicts = new ConflictRepository(pipeline.control.knex);
    const logged = (await Promise.all(routeIds.map((route) => conflicts.list(route, { status: 'all', limit: 1000 })))).flat();
    expect(logged.length).toBeGreaterThan(0);
    for (const conflict of logged) expect(conflict.reason).toMatch(/newer-wins/);
  }, 150_000);

  it('keeps causality when an update overtakes the insert it follows: A inserts, B updates it, C gets B\'s update first', async () => {
    const [a, b, c] = nodes;
    const rowOf = async (node: { db: TestDatabase }) =>
      ((await node.db.knex.raw('SELECT id, v, note, CAST(updated_at AS CHAR) AS updated_at FROM kv WHERE id = 900'))[0] as Array<Record<string, unknown>>)[0] ?? null;
    // A's changes reach C late: its route to C is paused.
    await pipeline.setup.routes.update('a-to-c', { enabled: false });
    await sleep(500);
    await a.db.knex.raw("INSERT INTO kv (id, v, note, updated_at) VALUES (900, 1, 'inserted on A', NOW(6))");
    await waitFor(async () => (await rowOf(b)) !== null, { what: "A's insert at B" });
    await b.db.knex.raw("UPDATE kv SET v = 2, note = 'updated on B', updated_at = NOW(6) WHERE id = 900");
    // C gets B's update before A's insert.
    await waitFor(async () => (await rowOf(c))?.note === 'updated on B', { what: "B's update at C" });
    await pipeline.setup.routes.update('a-to-c', { enabled: true });
    await quiesce();
    const onA = await rowOf(a);
    expect(onA).toMatchObject({ v: 2, note: 'updated on B' });
    expect(await rowOf(b)).toEqual(onA);
    expect(await rowOf(c)).toEqual(onA);
  }, 90_000);
});

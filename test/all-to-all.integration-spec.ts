import { ConflictRepository } from '@tributary/control';
import { createMesh, Mesh, MeshNode, sleep, waitFor } from '@tributary/testing';

/**
 * Multi-leader among three and four MariaDB databases, all to all (issue
 * #14): each is a source and a target under one name; every ordered pair has
 * a route that passes on only the application's own writes (localOnly), so a
 * change reaches each other node once, straight from where it was made, and
 * nothing goes around. Each node takes changes from several sources into one
 * table (versions per source), ordered by newer-wins on updated_at, and
 * remembers the deletions it applied so a late insert cannot undo one.
 */
const allPairs = (ids: string[]) => ids.flatMap((from) => ids.filter((to) => to !== from).map((to): [string, string] => [from, to]));

describe.each([
  [3, ['a', 'b', 'c']],
  [4, ['a', 'b', 'c', 'd']],
])('all-to-all among %i databases, newer-wins, deletes included', (_count, ids) => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await createMesh(ids, allPairs(ids), { localOnly: true });
  });

  afterAll(async () => {
    await mesh?.teardown();
  });

  it('converges to the same rows on every node, sends each change once, and nothing circulates — through a kill of the app', async () => {
    // Relay and worker die halfway (SIGKILL) and start again: versions per source, remembered
    // deletions and checkpoints must carry every node through.
    const written = await mesh.writeEverywhereThenQuiesce(8, { killMidway: true });
    expect(written.every((n) => n > 50)).toBe(true);
    const converged = await mesh.expectConverged();
    expect(converged.length).toBeGreaterThan(5);
    // Deletes happened on every node and some rows are gone for good, on all of them alike.
    for (const node of mesh.nodes) expect(await mesh.outboxCount(node.db, "op = 'delete' AND origin IS NULL")).toBeGreaterThan(0);
    await mesh.expectAppliedAtMostOnce();
    // Concurrent writes of one key on several nodes conflicted, and newer-wins said why each time.
    await mesh.expectConflictsExplained();
  }, 150_000);

  if (ids.length > 3) return;

  /** A inserts; B changes the row after receiving it (update or delete); C gets B's change before A's insert. */
  async function overtaken(id: number, change: (b: MeshNode) => Promise<unknown>, arrivedAtC: (row: Record<string, unknown> | null) => boolean) {
    const { pipeline, nodes } = mesh;
    const [a, b, c] = nodes;
    const rowOf = async (node: MeshNode) => (await mesh.rows(node.db, `id = ${id}`))[0] ?? null;
    // A's changes reach C late: its route to C is paused.
    await pipeline.setup.routes.update('a-to-c', { enabled: false });
    await sleep(500);
    await a.db.knex.raw(`INSERT INTO kv (id, v, note, updated_at) VALUES (${id}, 1, 'inserted on A', NOW(6))`);
    await waitFor(async () => (await rowOf(b)) !== null, { what: "A's insert at B" });
    await change(b);
    const conflicts = new ConflictRepository(pipeline.control.knex);
    await waitFor(async () => arrivedAtC(await rowOf(c)) && (await conflicts.list('b-to-c', { status: 'all', limit: 1000 })).some((x) => x.keyText.includes(String(id))), {
      what: "B's change at C",
    });
    await pipeline.setup.routes.update('a-to-c', { enabled: true });
    await mesh.quiesce();
    const onA = await rowOf(a);
    expect(await rowOf(b)).toEqual(onA);
    expect(await rowOf(c)).toEqual(onA);
    return onA;
  }

  it("keeps causality when an update overtakes the insert it follows: A inserts, B updates it, C gets B's update first", async () => {
    const end = await overtaken(
      900,
      (b) => b.db.knex.raw("UPDATE kv SET v = 2, note = 'updated on B', updated_at = NOW(6) WHERE id = 900"),
      (row) => row?.note === 'updated on B',
    );
    expect(end).toMatchObject({ v: 2, note: 'updated on B' });
  }, 90_000);

  it("keeps a row deleted when the delete overtakes the insert it follows: A inserts, B deletes it, C gets B's delete first", async () => {
    // At C the delete finds no row; C remembers it, and A's insert arriving later stays deleted.
    const end = await overtaken(
      901,
      (b) => b.db.knex.raw('DELETE FROM kv WHERE id = 901'),
      (row) => row === null,
    );
    expect(end).toBeNull();
  }, 90_000);
});

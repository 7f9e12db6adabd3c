import { originPath } from '@tributary/model';
import { createMesh, Mesh } from '@tributary/testing';

/**
 * Forwarding topologies (issue #14): databases pass on what they receive, so
 * a change reaches databases its maker has no route to. Every write
 * Tributary makes carries the databases the change has been at, and no route
 * sends a change to one of them, with no localOnly anywhere:
 * - a ring a → b → c → a: a change goes round once and stops before the
 *   database that made it;
 * - a star: a leaf's change reaches the other leaves through the hub, and
 *   never returns to the hub or to the leaf.
 */
describe('a ring of three databases, forwarding, newer-wins', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await createMesh(['a', 'b', 'c'], [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'a'],
    ]);
  });

  afterAll(async () => {
    await mesh?.teardown();
  });

  it('converges to the same rows on every node through a kill of the app, each change applied at most once per node, and goes quiet', async () => {
    const { nodes } = mesh;
    // Never quiet if a change went round for ever. The app is killed halfway and started again.
    const written = await mesh.writeEverywhereThenQuiesce(8, { killMidway: true });
    expect(written.every((n) => n > 50)).toBe(true);
    const converged = await mesh.expectConverged();
    expect(converged.length).toBeGreaterThan(5);

    for (const [i, node] of nodes.entries()) {
      // Changes were forwarded: each node holds writes of both other nodes, some through its neighbour.
      const origins = ((await node.db.knex.raw("SELECT origin, COUNT(*) AS n FROM _tributary_outbox WHERE origin LIKE 'tributary:%' GROUP BY origin"))[0] as Array<{ origin: string; n: number }>);
      const previous = nodes[(i + nodes.length - 1) % nodes.length].id;
      const beforePrevious = nodes[(i + nodes.length - 2) % nodes.length].id;
      expect(origins.map((o) => o.origin).sort()).toEqual([`tributary:${beforePrevious},${previous}`, `tributary:${previous}`].sort());
      // No path holds the node itself: nothing came back to where it had been.
      for (const { origin } of origins) expect(originPath(origin)).not.toContain(node.id);
    }
    await mesh.expectAppliedAtMostOnce();
    await mesh.expectConflictsExplained();
  }, 150_000);
});

describe('a star: a hub and three leaves, forwarding through the hub, newer-wins', () => {
  let mesh: Mesh;
  const leaves = ['l1', 'l2', 'l3'];

  beforeAll(async () => {
    mesh = await createMesh(['h', ...leaves], leaves.flatMap((leaf): Array<[string, string]> => [[leaf, 'h'], ['h', leaf]]));
  });

  afterAll(async () => {
    await mesh?.teardown();
  });

  it('converges to the same rows on every node; a leaf gets the others\' changes through the hub, never its own back', async () => {
    const { nodes } = mesh;
    expect((await mesh.writeEverywhereThenQuiesce(6)).every((n) => n > 50)).toBe(true);
    expect((await mesh.expectConverged()).length).toBeGreaterThan(5);
    await mesh.expectAppliedAtMostOnce();

    const originsAt = async (id: string) =>
      ((await nodes.find((node) => node.id === id)!.db.knex.raw("SELECT DISTINCT origin FROM _tributary_outbox WHERE origin LIKE 'tributary:%'"))[0] as Array<{ origin: string }>)
        .map((row) => row.origin)
        .sort();
    // The hub holds each leaf's changes, straight from the leaf.
    expect(await originsAt('h')).toEqual(leaves.map((leaf) => `tributary:${leaf}`));
    // A leaf holds the hub's own changes and the other leaves' through the hub; nothing that was at it before.
    for (const leaf of leaves) {
      const others = leaves.filter((other) => other !== leaf).map((other) => `tributary:${other},h`);
      expect(await originsAt(leaf)).toEqual(['tributary:h', ...others].sort());
    }
  }, 150_000);
});

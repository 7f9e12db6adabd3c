import { Op, Row } from '@tributary/model';
import { column as col } from '@tributary/testing/fixtures';
import { ConflictPolicy, decide, deletionWins, detectConflict } from '../index';

/**
 * The rules of newer-wins (decide, deletionWins, and the deletions a target
 * remembers) played out among three and four leaders replicating all to all,
 * the way the worker's conflict resolver applies them to one change: every
 * node makes its own updates, upserts and deletes of a few shared keys on the
 * rows it has at that moment, while the others' changes arrive late and in
 * any interleaving (each route in its source's order). Afterwards every node
 * must hold the same rows — the property the all-to-all integration test
 * checks against real databases, here over thousands of orders.
 */
const columns = [col('id', 'int'), col('v', 'int'), col('ts', 'int')];
const compared = ['id', 'v', 'ts'];
const policy: ConflictPolicy = { resolution: 'newer-wins', detect: 'all', column: 'ts', merge: false, resolver: null };

interface Change {
  op: Op;
  key: number;
  before: Row | null;
  after: Row | null;
}

/** One leader: its rows, the last image of each row its application deleted (its outbox), and those Tributary deleted. */
class Node {
  readonly rows = new Map<number, Row>();
  readonly ownDeletes = new Map<number, Row>();
  readonly appliedDeletes = new Map<number, Row>();

  constructor(readonly name: string) {}

  /**
   * An application write on the rows this node has now; null when it changes
   * nothing (an update of a missing row). Its version is `clock`, or above the
   * last version this node saw of the row (deletions included) if the clock
   * is not: newer-wins' contract, which NOW(6) keeps unless two writes of a
   * row share a microsecond.
   */
  write(kind: 'update' | 'upsert' | 'delete', key: number, value: number, clock: number): Change | null {
    const row = this.rows.get(key) ?? null;
    const seen = [row, this.ownDeletes.get(key), this.appliedDeletes.get(key)].map((r) => Number(r?.ts ?? 0));
    const ts = Math.max(clock, ...seen.map((t) => t + 1));
    if (kind === 'delete' || (kind === 'update' && !row)) {
      if (!row) return null;
      this.rows.delete(key);
      this.ownDeletes.set(key, row);
      return { op: 'delete', key, before: row, after: null };
    }
    const after = { id: key, v: value, ts };
    this.rows.set(key, after);
    return row ? { op: 'update', key, before: row, after } : { op: 'insert', key, before: null, after };
  }

  /** A change from another node, as resolveConflicts and the target apply it. */
  receive(change: Change): void {
    const target = this.rows.get(change.key) ?? null;
    const deleted = target ? [] : [this.ownDeletes.get(change.key), this.appliedDeletes.get(change.key)].filter((row): row is Row => row !== undefined);
    if (deletionWins({ change, deleted, policy, columns, compared })) return;
    const kind = detectConflict(change, target, 'all', 'ts', compared);
    const action = kind === null ? 'apply' : decide({ change, target, kind, policy, columns, compared }).decision.action;
    if (action === 'keep') return;
    expect(action).toBe('apply');
    if (change.op === 'delete') {
      this.rows.delete(change.key);
      this.appliedDeletes.set(change.key, change.before!);
    } else {
      this.rows.set(change.key, change.after!);
    }
  }
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes and deliveries interleaved at random; returns the nodes after every
 * route has delivered everything. `tick` writes share a version (a clock's
 * resolution: ties between nodes).
 */
function play(nodeCount: number, seed: number, steps: number, tick = 1): Node[] {
  const rnd = random(seed);
  const nodes = Array.from({ length: nodeCount }, (_, i) => new Node(String.fromCharCode(97 + i)));
  // Every node starts with the same three rows.
  for (const node of nodes) for (const id of [1, 2, 3]) node.rows.set(id, { id, v: 0, ts: 0 });
  // One queue per route (source → target), delivered in order, like a route's batches.
  const routes = nodes.flatMap((from) => nodes.filter((to) => to !== from).map((to) => ({ from, to, queue: [] as Change[] })));
  let clock = 0;
  for (let step = 0; step < steps || routes.some((r) => r.queue.length > 0); step++) {
    const busy = routes.filter((r) => r.queue.length > 0);
    if (step < steps && (busy.length === 0 || rnd() < 0.4)) {
      const node = nodes[Math.floor(rnd() * nodes.length)];
      const dice = rnd();
      const kind = dice < 0.4 ? 'update' : dice < 0.75 ? 'upsert' : 'delete';
      const change = node.write(kind, 1 + Math.floor(rnd() * 4), Math.floor(rnd() * 1000), Math.ceil(++clock / tick));
      if (change) for (const route of routes) if (route.from === node) route.queue.push(change);
    } else if (busy.length > 0) {
      const route = busy[Math.floor(rnd() * busy.length)];
      route.to.receive(route.queue.shift()!);
    }
  }
  return nodes;
}

const sorted = (node: Node) => [...node.rows.entries()].sort(([a], [b]) => a - b);

describe('newer-wins among many leaders, all to all, deletes included', () => {
  it.each([
    [3, 1],
    [4, 1],
    [3, 4],
    [4, 4],
  ])('%i leaders end with the same rows, whatever order changes arrive in (%i writes per version)', (count, tick) => {
    for (let seed = 1; seed <= 400; seed++) {
      const nodes = play(count, seed, 60, tick);
      const first = sorted(nodes[0]);
      for (const node of nodes.slice(1)) {
        if (JSON.stringify(sorted(node)) !== JSON.stringify(first)) {
          throw new Error(`seed ${seed}: ${node.name} ${JSON.stringify(sorted(node))} differs from a ${JSON.stringify(first)}`);
        }
      }
    }
  });

  it('the late insert after a delete that overtook it: A inserts, B deletes it, C gets the delete first', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((name) => new Node(name));
    const insert = a.write('upsert', 9, 1, 1)!;
    b.receive(insert);
    const removal = b.write('delete', 9, 0, 2)!;
    a.receive(removal);
    c.receive(removal); // before A's insert
    expect(c.appliedDeletes.get(9)).toEqual(insert.after);
    c.receive(insert);
    for (const node of [a, b, c]) expect(node.rows.has(9)).toBe(false);
  });

  it('without the deletions a target remembers, the late insert brings the row back on one node only', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((name) => new Node(name));
    const insert = a.write('upsert', 9, 1, 1)!;
    b.receive(insert);
    const removal = b.write('delete', 9, 0, 2)!;
    c.receive(removal);
    c.appliedDeletes.clear(); // what a target that forgets replicated deletes knows
    c.receive(insert);
    expect(c.rows.has(9)).toBe(true);
  });
});

describe('deletionWins', () => {
  const at = (ts: number, v = 1): Row => ({ id: 1, v, ts });
  const wins = (change: Change, deleted: Row[]) => deletionWins({ change, deleted, policy, columns, compared });

  it('an insert or update older than the newest deletion leaves the row deleted; a newer one goes on', () => {
    expect(wins({ op: 'insert', key: 1, before: null, after: at(5) }, [at(3), at(7)])).toMatch(/deleted this row at 7, after incoming 5/);
    expect(wins({ op: 'update', key: 1, before: at(1), after: at(8) }, [at(3), at(7)])).toBeNull();
  });

  it('at the same version: the very row the deleter saw (or one sorting before it) stays deleted, one sorting after wins', () => {
    expect(wins({ op: 'insert', key: 1, before: null, after: at(7, 1) }, [at(7, 1)])).toMatch(/tie at 7 with the row the target deleted/);
    expect(wins({ op: 'insert', key: 1, before: null, after: at(7, 2) }, [at(7, 1)])).toBeNull();
  });

  it('a delete not newer than the remembered one has nothing to do; a newer one goes on (and is remembered)', () => {
    expect(wins({ op: 'delete', key: 1, before: at(5), after: null }, [at(7)])).toMatch(/nothing to do/);
    expect(wins({ op: 'delete', key: 1, before: at(7), after: null }, [at(7)])).toMatch(/nothing to do/);
    expect(wins({ op: 'delete', key: 1, before: at(9), after: null }, [at(7)])).toBeNull();
  });

  it('decides nothing without deletions or for other policies', () => {
    expect(wins({ op: 'insert', key: 1, before: null, after: at(1) }, [])).toBeNull();
    expect(deletionWins({ change: { op: 'insert', before: null, after: at(1) }, deleted: [at(7)], policy: { ...policy, resolution: 'source-wins', column: null }, columns, compared })).toBeNull();
  });
});

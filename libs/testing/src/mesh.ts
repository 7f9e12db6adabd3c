import { ConflictRepository } from '@tributary/control';
import { RouteInput } from '@tributary/setup';
import { createMysqlDatabase, TestDatabase } from './databases';
import { createPipeline, Pipeline } from './pipeline';
import { freePort } from './redis-server';
import { sleep, waitFor } from './wait';
import { KV_DDL, KV_SEED, kvWorkload } from './workload';

/** One database of a multi-leader group: a source and a target under one id. */
export interface MeshNode {
  id: string;
  db: TestDatabase;
}

/**
 * Several MariaDB databases replicating `kv` among themselves (issue #14),
 * every one a source and a target under one id, started equal: the pipeline's
 * source database is the first node. Routes are `<from>-to-<to>`, newer-wins
 * on updated_at; `shareTargetTable` where a node takes changes from more
 * than one source.
 */
export interface Mesh {
  pipeline: Pipeline;
  nodes: MeshNode[];
  routeIds: string[];
  /** kv's rows at a node, in a form that compares across nodes. */
  rows(db: TestDatabase, where?: string): Promise<Array<Record<string, unknown>>>;
  /** How many outbox rows of a node match `where`. */
  outboxCount(db: TestDatabase, where: string): Promise<number>;
  /**
   * Fails with every node's history of the rows that differ between nodes
   * (outbox rows and logged conflicts), so a divergence can be understood.
   */
  expectConverged(): Promise<Array<Record<string, unknown>>>;
  /** Every route has applied what its source's outbox holds, and no outbox grew for half a second. */
  quiesce(timeoutMs?: number): Promise<void>;
  /**
   * Starts the all-in-one app, has every node's application update, upsert
   * and delete the same keys for `seconds`, then waits until all is quiet
   * (which it never is if a change goes round for ever). With `killMidway`
   * the app is killed (SIGKILL) halfway and started again. Returns how many
   * statements each node committed.
   */
  writeEverywhereThenQuiesce(seconds: number, options?: { killMidway?: boolean }): Promise<number[]>;
  /**
   * At each node, the changes Tributary applied (origin tributary:…) number
   * no more than the other nodes' application writes: each change applied
   * at most once per node, nothing sent round again.
   */
  expectAppliedAtMostOnce(): Promise<void>;
  /** Conflicts were logged, each with newer-wins' reason. */
  expectConflictsExplained(): Promise<void>;
  teardown(): Promise<void>;
}

export async function createMesh(ids: string[], links: Array<[from: string, to: string]>, routeExtra: Partial<RouteInput> = {}): Promise<Mesh> {
  const pipeline = await createPipeline();
  const nodes: MeshNode[] = [{ id: ids[0], db: pipeline.source }];
  for (const id of ids.slice(1)) nodes.push({ id, db: await createMysqlDatabase('trib_mesh') });
  const routeIds: string[] = [];
  try {
    for (const node of nodes) {
      await node.db.knex.raw(KV_DDL);
      await node.db.knex.raw(KV_SEED); // every node starts equal, before capture
      await pipeline.setup.addSource(node.id, node.db.url);
      await pipeline.setup.captureTable(node.id, 'kv');
      await pipeline.setup.addTarget({ id: node.id, kind: 'mysql', url: node.db.url, options: {} });
    }
    for (const [from, to] of links) {
      // A later route into a node's table shares its keys with the earlier ones: versions per source there.
      const shared = routeIds.some((other) => other.endsWith(`-to-${to}`));
      const id = `${from}-to-${to}`;
      await pipeline.setup.routes.create({
        id,
        sourceId: from,
        table: 'kv',
        targetId: to,
        initialCopy: false,
        conflictPolicy: { resolution: 'newer-wins', column: 'updated_at' },
        ...routeExtra,
        ...(shared ? { shareTargetTable: true } : {}),
      });
      routeIds.push(id);
    }
  } catch (error) {
    await pipeline.teardown();
    await Promise.all(nodes.slice(1).map((node) => node.db.drop()));
    throw error;
  }

  const rowsOf = async (db: TestDatabase, where = '1 = 1') =>
    (await db.knex.raw(`SELECT id, v, note, CAST(updated_at AS CHAR) AS updated_at FROM kv WHERE ${where} ORDER BY id`))[0] as Array<Record<string, unknown>>;
  const maxSeq = async (db: TestDatabase) => Number((await db.knex.raw('SELECT COALESCE(MAX(seq), 0) AS m FROM _tributary_outbox'))[0][0].m);
  const mesh: Mesh = {
    pipeline,
    nodes,
    routeIds,
    rows: rowsOf,
    outboxCount: async (db, where) => Number((await db.knex.raw(`SELECT COUNT(*) AS n FROM _tributary_outbox WHERE ${where}`))[0][0].n),
    async quiesce(timeoutMs = 90_000) {
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
        { timeoutMs, what: 'every route caught up and every outbox quiet' },
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
      });
    },
    async expectConverged() {
      const rows = await Promise.all(nodes.map((node) => rowsOf(node.db)));
      const text = (list: Array<Record<string, unknown>>) => new Map(list.map((row) => [Number(row.id), JSON.stringify(row)]));
      const maps = rows.map(text);
      const ids = new Set(maps.flatMap((map) => [...map.keys()]));
      const differing = [...ids].filter((id) => new Set(maps.map((map) => map.get(id) ?? 'none')).size > 1);
      if (differing.length === 0) return rows[0];
      const lines: string[] = [];
      for (const id of differing.slice(0, 3)) {
        lines.push(`key ${id}: ${nodes.map((node, i) => `${node.id}=${maps[i].get(id) ?? 'none'}`).join(' ')}`);
        for (const node of nodes) {
          const [history] = await node.db.knex.raw(
            `SELECT seq, op, origin, JSON_VALUE(before_image, '$.note') AS bn, JSON_VALUE(before_image, '$.updated_at') AS bt, ` +
              `JSON_VALUE(after_image, '$.note') AS an, JSON_VALUE(after_image, '$.updated_at') AS at FROM _tributary_outbox ` +
              `WHERE table_name = 'kv' AND JSON_VALUE(pk, '$.id') = ? ORDER BY seq`,
            [id],
          );
          for (const h of history as Array<Record<string, unknown>>) lines.push(`  ${node.id} #${h.seq} ${h.op} origin=${h.origin} before=${h.bn}@${h.bt} after=${h.an}@${h.at}`);
        }
        const [conflicts] = await pipeline.control.knex.raw(
          'SELECT route_id, seq, kind, decision, reason FROM tributary_conflicts WHERE key_text LIKE ? ORDER BY id',
          [`%${id}%`],
        );
        for (const c of conflicts as Array<Record<string, unknown>>) lines.push(`  conflict ${c.route_id} #${c.seq} ${c.kind} ${c.decision}: ${c.reason}`);
      }
      throw new Error(`nodes differ on ${differing.length} keys:\n${lines.join('\n')}`);
    },
    async writeEverywhereThenQuiesce(seconds, options = {}) {
      const app = pipeline.start('tributary', { ADMIN_PORT: String(await freePort()) });
      let stop = false;
      const load = Promise.all(nodes.map((node) => kvWorkload(node.db.url, node.id.toUpperCase(), () => stop)));
      if (options.killMidway) {
        await sleep((seconds * 1000) / 2);
        await app.kill('SIGKILL');
        pipeline.start('tributary', { ADMIN_PORT: String(await freePort()) });
        await sleep((seconds * 1000) / 2);
      } else {
        await sleep(seconds * 1000);
      }
      stop = true;
      const written = await load;
      await this.quiesce();
      return written;
    },
    async expectAppliedAtMostOnce() {
      const applied = await Promise.all(nodes.map((node) => this.outboxCount(node.db, "origin LIKE 'tributary:%'")));
      const own = await Promise.all(nodes.map((node) => this.outboxCount(node.db, 'origin IS NULL')));
      const total = own.reduce((a, b) => a + b, 0);
      nodes.forEach((node, i) => {
        expect({ node: node.id, applied: applied[i] > 0 }).toEqual({ node: node.id, applied: true });
        expect(applied[i]).toBeLessThanOrEqual(total - own[i]);
      });
    },
    async expectConflictsExplained() {
      const conflicts = new ConflictRepository(pipeline.control.knex);
      const logged = (await Promise.all(routeIds.map((route) => conflicts.list(route, { status: 'all', limit: 1000 })))).flat();
      expect(logged.length).toBeGreaterThan(0);
      for (const conflict of logged) expect(conflict.reason).toMatch(/newer-wins/);
    },
    async teardown() {
      await pipeline.teardown();
      await Promise.all(nodes.slice(1).map((node) => node.db.drop()));
    },
  };
  return mesh;
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Knex } from 'knex';
import { migrateControl } from '@tributary/db';
import { ConflictRecord, ConflictRepository, DeadLetterRepository, openMysql, RouteRecord } from '@tributary/control';
import { createLogger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { ColumnSpec, Row, RowChange, TargetTableSpec, WireChange } from '@tributary/model';
import { ConflictPolicy, parseConflictPolicy } from '@tributary/replication';
import { ApplyBatch, ApplyHooks, MysqlTarget, PostgresTarget, RejectedChange, Target } from '@tributary/targets';
import { createMysqlDatabase, createPostgresDatabase, TestDatabase } from '@tributary/testing';
import { ConflictDeps, ConflictSetup, resolveConflicts } from './conflict-resolver';
import { CustomResolverLoader } from './custom-resolvers';
import { columnSpec } from '../../targets/src/test-kit/target.contract';

/**
 * Conflict detection and resolution (issue #6) end to end through a real
 * target's apply transaction: rows changed "behind Tributary's back" with
 * direct SQL, then incoming changes applied with resolveConflicts as the
 * hook; asserted on the target rows, the conflict log and the dead letters.
 */


const COLUMNS: ColumnSpec[] = [
  columnSpec('id', 'int', 'int(11)', { nullable: false }),
  columnSpec('name', 'string', 'varchar(20)'),
  columnSpec('qty', 'int', 'int(11)'),
  columnSpec('updated_at', 'datetime', 'datetime(6)'),
];

/** A datetime(6) value as the targets read it back. */
const T = (second: number) => `2024-01-01 00:00:${String(second).padStart(2, '0')}.000000`;
const item = (id: number, name: string, qty: number, at: number): Row => ({ id, name, qty, updated_at: T(at) });

const insert = (seq: number, after: Row): RowChange => ({ seq, op: 'insert', key: { id: after.id }, before: null, after });
const update = (seq: number, before: Row, after: Row): RowChange => ({ seq, op: 'update', key: { id: after.id }, before, after });
const remove = (seq: number, before: Row): RowChange => ({ seq, op: 'delete', key: { id: before.id }, before, after: null });

function wireOf(change: RowChange): WireChange {
  return {
    seq: change.seq,
    table: 'items',
    op: change.op,
    pk: JSON.stringify(change.key),
    before: change.before && JSON.stringify(change.before),
    after: change.after && JSON.stringify(change.after),
    origin: null,
    ts: 1_700_000_000_000_000 + change.seq,
    schema: 'schema-hash',
  };
}

/** A policy as parseConflictPolicy returns it (source column names equal the target's here). */
const policy = (value: Record<string, unknown>): ConflictPolicy => parseConflictPolicy(value, COLUMNS)!;

const KINDS: Array<[string, (db: TestDatabase) => Target]> = [
  ['postgres', (db) => new PostgresTarget({ kind: 'postgres', url: db.url })],
  ['mysql', (db) => new MysqlTarget({ kind: 'mysql', url: db.url })],
];

describe('resolveConflicts against real targets', () => {
  let control: TestDatabase;
  let controlKnex: Knex;
  let deps: ConflictDeps;
  let resolversDir: string;
  let loader: CustomResolverLoader;

  beforeAll(async () => {
    control = await createMysqlDatabase('trib_crctl');
    controlKnex = openMysql(control.url);
    await migrateControl(controlKnex);
    deps = {
      conflicts: new ConflictRepository(controlKnex),
      deadLetters: new DeadLetterRepository(controlKnex),
      metrics: new Metrics(),
      logger: createLogger('silent'),
    };
    resolversDir = mkdtempSync(join(tmpdir(), 'trib-resolvers-'));
    writeFileSync(
      join(resolversDir, 'sum.js'),
      `module.exports = (c) => ({ action: 'write', row: { ...c.target, qty: c.target.qty + c.incoming.after.qty }, reason: 'sum' });\n`,
    );
    writeFileSync(join(resolversDir, 'explode.js'), `exports.resolve = () => { throw new Error('resolver exploded on purpose'); };\n`);
    writeFileSync(join(resolversDir, 'garbage.js'), `module.exports = async () => ({ verdict: 'whatever' });\n`);
    writeFileSync(join(resolversDir, 'silent.js'), `module.exports = () => new Promise(() => {});\n`);
    loader = new CustomResolverLoader(resolversDir);
  });

  afterAll(async () => {
    await controlKnex?.destroy();
    await control?.drop();
    if (resolversDir) rmSync(resolversDir, { recursive: true, force: true });
  });

  describe.each(KINDS)('%s target', (kind, make) => {
    let db: TestDatabase;
    let target: Target;
    let tables = 0;

    beforeAll(async () => {
      db = kind === 'postgres' ? await createPostgresDatabase('trib_crpg') : await createMysqlDatabase('trib_crmy');
      target = make(db);
    });

    afterAll(async () => {
      await target?.close();
      await db?.drop();
    });

    /** A fresh table and route per test, seeded (seq 1..n) without hooks. */
    async function fresh(
      conflictPolicy: Record<string, unknown>,
      seed: Row[],
      names: { sourceId?: string; targetId?: string } = {},
      custom: ConflictSetup['custom'] = null,
    ) {
      tables += 1;
      const table: TargetTableSpec = { name: `items_${tables}`, columns: COLUMNS, key: ['id'] };
      await target.ensureTable(table);
      const route: RouteRecord = {
        id: `cr-${kind}-${tables}-${Date.now().toString(36)}`,
        sourceId: names.sourceId ?? 'a',
        table: 'items',
        targetId: names.targetId ?? 'b',
        targetTable: table.name,
        enabled: true,
        conflictPolicy,
      };
      const setup: ConflictSetup = { policy: policy(conflictPolicy), spec: table, compared: COLUMNS.map((c) => c.name), custom };
      if (seed.length > 0) {
        const result = await target.apply(batchOf(route, table, seed.map((row, i) => insert(i + 1, row))), {
          recordRejected: async (rejected) => {
            throw new Error(`seed refused: ${rejected.map((r) => r.reason).join('; ')}`);
          },
        });
        expect(result.rejected).toEqual([]);
      }
      const rejectedSeen: RejectedChange[] = [];
      const hooks = (overrides: Partial<ApplyHooks> = {}): ApplyHooks => ({
        recordRejected: async (rejected) => {
          rejectedSeen.push(...rejected);
        },
        resolveConflicts: (changes, current) => resolveConflicts(route, setup, changes, current, wires(changes), deps),
        ...overrides,
      });
      return {
        table,
        route,
        setup,
        rejectedSeen,
        hooks,
        /** Applies incoming changes with conflict detection. */
        apply: (changes: RowChange[], overrides: Partial<ApplyHooks> = {}) => target.apply(batchOf(route, table, changes), hooks(overrides)),
        rows: () => target.readRows(table),
        /** Conflict log rows of the route, oldest first. */
        log: async (): Promise<ConflictRecord[]> => (await deps.conflicts.list(route.id, { limit: 1000 })).reverse(),
        letters: () => deps.deadLetters.list(route.id, { status: 'all', limit: 1000 }),
        /** A local write at the target, behind Tributary's back. */
        sql: (statement: string, params: unknown[] = []) => db.knex.raw(statement.replace(/\bT\b/g, q(table.name)), params as Knex.RawBinding[]),
      };
    }

    const q = (name: string) => (kind === 'postgres' ? `"${name}"` : `\`${name}\``);

    /** Every change of the batch, as wireBySeq (resolveConflicts looks up by seq). */
    const allWires = new Map<number, WireChange>();
    function wires(changes: RowChange[]): Map<number, WireChange> {
      for (const change of changes) if (!allWires.has(change.seq)) allWires.set(change.seq, wireOf(change));
      return allWires;
    }

    function batchOf(route: RouteRecord, table: TargetTableSpec, changes: RowChange[]): ApplyBatch {
      for (const change of changes) allWires.set(change.seq, wireOf(change));
      return { routeId: route.id, table, changes, watermark: Math.max(0, ...changes.map((c) => c.seq)), origin: `tributary:${route.sourceId}` };
    }

    describe('detection', () => {
      const seed = [item(1, 'one', 1, 1)];

      it("mode all: a local change to an unrelated column makes an update conflict", async () => {
        const t = await fresh({ resolution: 'target-wins', detect: 'all' }, seed);
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2))]);
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1)]);
        const [c, ...more] = await t.log();
        expect(more).toEqual([]);
        expect(c).toMatchObject({ seq: 10, kind: 'mismatch', decision: 'kept', status: 'resolved', policy: 'target-wins', op: 'update', table: 'items' });
        expect(c.targetRow).toEqual(item(1, 'one', 5, 1));
        expect(c.incomingBefore).toEqual(item(1, 'one', 1, 1));
        expect(c.incomingAfter).toEqual(item(1, 'uno', 1, 2));
        expect(c.resultRow).toEqual(item(1, 'one', 5, 1));
        expect(c.reason).toMatch(/^target-wins: /);
      });

      it('mode changed: a local change to another column is no conflict, and survives the incoming update', async () => {
        const t = await fresh({ resolution: 'target-wins', detect: 'changed' }, seed);
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 1))]);
        expect(await t.log()).toEqual([]);
        // Only the columns the change changed are written over the target's row: its qty = 5 stays.
        expect((await t.rows())[0]).toMatchObject({ id: 1, name: 'uno', qty: 5 });
      });

      it('mode changed: a local change to the same column is a conflict', async () => {
        const t = await fresh({ resolution: 'target-wins', detect: 'changed' }, seed);
        await t.sql("UPDATE T SET name = 'local' WHERE id = 1");
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 1))]);
        expect(await t.rows()).toEqual([item(1, 'local', 1, 1)]);
        expect(await t.log()).toMatchObject([{ seq: 10, kind: 'mismatch', decision: 'kept' }]);
      });

      it('mode version: only the version column is compared', async () => {
        const t = await fresh({ resolution: 'target-wins', detect: 'version', column: 'updated_at' }, [item(1, 'one', 1, 1), item(2, 'two', 2, 1)]);
        await t.sql("UPDATE T SET name = 'local', qty = 9 WHERE id = 1"); // no version bump: not seen
        await t.sql(`UPDATE T SET qty = 7, updated_at = '${T(5)}' WHERE id = 2`); // version bumped: a conflict
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2)), update(11, item(2, 'two', 2, 1), item(2, 'dos', 2, 2))]);
        expect(await t.rows()).toEqual([item(1, 'uno', 1, 2), item(2, 'two', 7, 5)]);
        expect(await t.log()).toMatchObject([{ seq: 11, kind: 'mismatch', decision: 'kept' }]);
      });

      it("insert of a key the target holds with other values: 'exists'; of an identical row: no conflict", async () => {
        const t = await fresh({ resolution: 'target-wins' }, []);
        await t.sql(`INSERT INTO T (id, name, qty, updated_at) VALUES (1, 'local', 1, '${T(1)}'), (2, 'two', 2, '${T(1)}')`);
        await t.apply([insert(10, item(1, 'one', 1, 1)), insert(11, item(2, 'two', 2, 1))]);
        expect(await t.rows()).toEqual([item(1, 'local', 1, 1), item(2, 'two', 2, 1)]);
        const log = await t.log();
        expect(log).toMatchObject([{ seq: 10, op: 'insert', kind: 'exists', decision: 'kept', incomingBefore: null, targetRow: item(1, 'local', 1, 1) }]);
      });

      it("update of a row the target deleted: 'missing'", async () => {
        const t = await fresh({ resolution: 'target-wins' }, seed);
        await t.sql('DELETE FROM T WHERE id = 1');
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2))]);
        expect(await t.rows()).toEqual([]);
        expect(await t.log()).toMatchObject([{ seq: 10, op: 'update', kind: 'missing', decision: 'kept', targetRow: null, resultRow: null }]);
      });

      it("delete of a row the target changed: 'mismatch'; of a row it deleted: 'missing'", async () => {
        const t = await fresh({ resolution: 'target-wins' }, [item(1, 'one', 1, 1), item(2, 'two', 2, 1)]);
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        await t.sql('DELETE FROM T WHERE id = 2');
        await t.apply([remove(10, item(1, 'one', 1, 1)), remove(11, item(2, 'two', 2, 1))]);
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1)]);
        expect(await t.log()).toMatchObject([
          { seq: 10, op: 'delete', kind: 'mismatch', decision: 'kept', incomingAfter: null },
          { seq: 11, op: 'delete', kind: 'missing', decision: 'kept', targetRow: null },
        ]);
      });

      it('changes that meet the row as the source saw it are no conflicts', async () => {
        const t = await fresh({ resolution: 'manual' }, [item(1, 'one', 1, 1), item(2, 'two', 2, 1)]);
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2)), remove(11, item(2, 'two', 2, 1)), insert(12, item(3, 'three', 3, 1))]);
        expect(await t.rows()).toEqual([item(1, 'uno', 1, 2), item(3, 'three', 3, 1)]);
        expect(await t.log()).toEqual([]);
      });

      it('a second change of a row in one batch meets the first one\'s outcome, not the stale target row', async () => {
        const t = await fresh({ resolution: 'manual' }, seed);
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2)), update(11, item(1, 'uno', 1, 2), item(1, 'eins', 1, 3))]);
        expect(await t.rows()).toEqual([item(1, 'eins', 1, 3)]);
        expect(await t.log()).toEqual([]);
      });
    });

    describe('policies', () => {
      const seed = [item(1, 'one', 1, 1)];

      it('source-wins: the incoming change is applied', async () => {
        const t = await fresh({ resolution: 'source-wins' }, seed);
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2))]);
        expect(await t.rows()).toEqual([item(1, 'uno', 1, 2)]);
        const [c] = await t.log();
        expect(c).toMatchObject({ kind: 'mismatch', decision: 'applied', status: 'resolved', policy: 'source-wins', resultRow: item(1, 'uno', 1, 2) });
        expect(c.reason).toMatch(/^source-wins: .*applied/);
      });

      it('source-wins: an update of a row the target deleted inserts it again', async () => {
        const t = await fresh({ resolution: 'source-wins' }, seed);
        await t.sql('DELETE FROM T WHERE id = 1');
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2))]);
        expect(await t.rows()).toEqual([item(1, 'uno', 1, 2)]);
        expect(await t.log()).toMatchObject([{ kind: 'missing', decision: 'applied', targetRow: null, resultRow: item(1, 'uno', 1, 2) }]);
      });

      it('source-wins: an insert over a different row overwrites it; a delete of a changed row deletes it', async () => {
        const t = await fresh({ resolution: 'source-wins' }, [item(2, 'two', 2, 1)]);
        await t.sql(`INSERT INTO T (id, name, qty, updated_at) VALUES (1, 'local', 9, '${T(1)}')`);
        await t.sql('UPDATE T SET qty = 5 WHERE id = 2');
        await t.apply([insert(10, item(1, 'one', 1, 1)), remove(11, item(2, 'two', 2, 1))]);
        expect(await t.rows()).toEqual([item(1, 'one', 1, 1)]);
        expect(await t.log()).toMatchObject([
          { seq: 10, kind: 'exists', decision: 'applied' },
          { seq: 11, kind: 'mismatch', decision: 'applied', resultRow: null },
        ]);
      });

      it('target-wins: the target row stays', async () => {
        const t = await fresh({ resolution: 'target-wins' }, seed);
        await t.sql("UPDATE T SET name = 'local' WHERE id = 1");
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 7, 2))]);
        expect(await t.rows()).toEqual([item(1, 'local', 1, 1)]);
        expect(await t.log()).toMatchObject([{ decision: 'kept', status: 'resolved', resultRow: item(1, 'local', 1, 1) }]);
      });

      it('newer-wins: a newer incoming row is applied, an older one kept', async () => {
        const t = await fresh({ resolution: 'newer-wins', column: 'updated_at' }, [item(1, 'one', 1, 1), item(2, 'two', 2, 1)]);
        await t.sql(`UPDATE T SET qty = 5, updated_at = '${T(3)}' WHERE id IN (1, 2)`);
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 4)), update(11, item(2, 'two', 2, 1), item(2, 'dos', 2, 2))]);
        expect(await t.rows()).toEqual([item(1, 'uno', 1, 4), item(2, 'two', 5, 3)]);
        const [newer, older] = await t.log();
        expect(newer).toMatchObject({ seq: 10, decision: 'applied', policy: 'newer-wins' });
        expect(newer.reason).toMatch(/^newer-wins on updated_at: incoming .* is newer/);
        expect(older).toMatchObject({ seq: 11, decision: 'kept' });
        expect(older.reason).toMatch(/^newer-wins on updated_at: the target's .* is newer/);
      });

      it.each([
        ['a', 'one', 'applied'],
        ['z', 'one', 'applied'],
        ['a', 'zeta', 'kept'],
        ['z', 'zeta', 'kept'],
      ])('newer-wins: a tie (source %s) goes to the row whose contents sort after: target name %s → %s', async (sourceId, name, decision) => {
        const t = await fresh({ resolution: 'newer-wins', column: 'updated_at' }, seed, { sourceId, targetId: 'b' });
        await t.sql(`UPDATE T SET name = '${name}', qty = 5, updated_at = '${T(2)}' WHERE id = 1`);
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2))]);
        expect(await t.rows()).toEqual([decision === 'kept' ? item(1, name, 5, 2) : item(1, 'uno', 1, 2)]);
        const [c] = await t.log();
        expect(c.decision).toBe(decision);
        expect(c.reason).toMatch(/tie at 2024-01-01 00:00:02/);
      });

      it('newer-wins remembers a delete of a row it lacks: a late older insert stays deleted, a newer one comes back', async () => {
        const t = await fresh({ resolution: 'newer-wins', column: 'updated_at' }, []);
        const remembers = { remembersDeletes: true };
        // Another leader deleted the row (it saw version 3) before this target got the row's insert.
        await t.apply([remove(10, item(1, 'one', 1, 3))], remembers);
        // The insert it followed arrives late (version 3, the very row); an older one, too.
        await t.apply([insert(11, item(1, 'one', 1, 3)), insert(12, item(2, 'two', 2, 1))], remembers);
        await t.apply([remove(13, item(2, 'two', 2, 2))], remembers);
        await t.apply([insert(14, item(2, 'two', 2, 1))], remembers);
        expect(await t.rows()).toEqual([]);
        const log = await t.log();
        expect(log.map((c) => [c.seq, c.kind, c.decision])).toEqual([
          [10, 'missing', 'applied'],
          [11, 'missing', 'kept'],
          [13, 'mismatch', 'applied'],
          [14, 'missing', 'kept'],
        ]);
        expect(log[1].reason).toMatch(/tie at 2024-01-01 00:00:03.000000 with the row the target deleted/);
        expect(log[3].reason).toMatch(/deleted this row at 2024-01-01 00:00:02.000000, after incoming 2024-01-01 00:00:01.000000/);
        // An older delete arriving later changes nothing and does not replace what is remembered.
        await t.apply([remove(15, item(1, 'one', 1, 2))], remembers);
        await t.apply([insert(16, item(1, 'one', 1, 3))], remembers);
        expect(await t.rows()).toEqual([]);
        // A newer write wins over every deletion.
        await t.apply([insert(17, item(1, 'back', 1, 4))], remembers);
        expect(await t.rows()).toEqual([item(1, 'back', 1, 4)]);
      });

      it('newer-wins with merge: each side changed another column, the row holds both', async () => {
        const t = await fresh({ resolution: 'newer-wins', column: 'updated_at', merge: true }, seed);
        await t.sql(`UPDATE T SET qty = 5, updated_at = '${T(2)}' WHERE id = 1`);
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 3))]);
        expect(await t.rows()).toEqual([item(1, 'uno', 5, 3)]);
        const [c] = await t.log();
        expect(c).toMatchObject({ kind: 'mismatch', decision: 'merged', policy: 'newer-wins', targetRow: item(1, 'one', 5, 2), resultRow: item(1, 'uno', 5, 3) });
        expect(c.reason).toMatch(/^newer-wins on updated_at \(merge\): .*incoming name merged/);
      });

      it('manual: the change is parked, later changes of its row wait behind it, other rows go on', async () => {
        const t = await fresh({ resolution: 'manual' }, [item(1, 'one', 1, 1), item(2, 'two', 2, 1)]);
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        // Batch 1: a conflicting change of 1, then another of 1 behind it; 2 does not conflict.
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2)), update(11, item(2, 'two', 2, 1), item(2, 'dos', 2, 2)), update(12, item(1, 'uno', 1, 2), item(1, 'eins', 1, 3))]);
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1), item(2, 'dos', 2, 2)]);
        // Batch 2: a change of 1 that would meet the target row as it is: still parked.
        await t.apply([update(20, item(1, 'one', 5, 1), item(1, 'one', 6, 4)), insert(21, item(3, 'three', 3, 1))]);
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1), item(2, 'dos', 2, 2), item(3, 'three', 3, 1)]);
        const log = await t.log();
        expect(log.map((c) => [c.seq, c.decision, c.status])).toEqual([
          [10, 'parked', 'open'],
          [12, 'parked', 'open'],
          [20, 'parked', 'open'],
        ]);
        expect(log[0]).toMatchObject({ kind: 'mismatch', policy: 'manual', targetRow: item(1, 'one', 5, 1), resultRow: item(1, 'one', 5, 1) });
        expect(log[0].reason).toMatch(/^manual: /);
        expect(log[2].reason).toMatch(/earlier change of this row is parked/);
        expect(log[0].change).toEqual(wireOf(update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2))));
        expect(await t.letters()).toEqual([]);
      });
    });

    describe('custom resolvers', () => {
      const seed = [item(1, 'one', 1, 1), item(2, 'two', 2, 1)];

      it('a resolver that writes a row: the row is written, the log holds its reason', async () => {
        const t = await fresh({ resolution: 'custom', resolver: 'sum' }, seed, {}, await loader.load('sum'));
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'one', 3, 2))]);
        expect(await t.rows()).toEqual([item(1, 'one', 8, 1), item(2, 'two', 2, 1)]);
        const [c] = await t.log();
        expect(c).toMatchObject({ kind: 'mismatch', decision: 'merged', policy: 'custom', resultRow: item(1, 'one', 8, 1) });
        expect(c.reason).toBe('custom resolver sum: write (sum)');
      });

      it.each([
        ['explode', /custom resolver explode failed: resolver exploded on purpose/],
        ['garbage', /custom resolver garbage failed: returned \{"verdict":"whatever"\}, not a decision/],
      ])('a resolver that fails (%s): the change becomes a dead letter, the rest of the batch is applied', async (name, message) => {
        const t = await fresh({ resolution: 'custom', resolver: name }, seed, {}, await loader.load(name));
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2)), update(11, item(2, 'two', 2, 1), item(2, 'dos', 2, 2))]);
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1), item(2, 'dos', 2, 2)]);
        const [c, ...more] = await t.log();
        expect(more).toEqual([]);
        expect(c).toMatchObject({ seq: 10, kind: 'mismatch', decision: 'refused', status: 'resolved', resultRow: null });
        expect(c.reason).toMatch(/^conflict \(mismatch\) not resolved: /);
        expect(c.reason).toMatch(message);
        const letters = await t.letters();
        expect(letters).toHaveLength(1);
        expect(letters[0]).toMatchObject({ seq: 10, op: 'update', table: 'items', status: 'open' });
        expect(letters[0].reason).toMatch(message);
        expect(letters[0].change).toEqual(wireOf(update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2))));
      });

      it('a batch rerun row by row (the target refused another row) still has one conflict and one dead letter for the change', async () => {
        const t = await fresh({ resolution: 'custom', resolver: 'explode' }, seed, {}, await loader.load('explode'));
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        // seq 12's name is longer than varchar(20): the fast path fails and the batch reruns row by row.
        const result = await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2)), update(11, item(2, 'two', 2, 1), item(2, 'dos', 2, 2)), insert(12, item(3, 'x'.repeat(40), 3, 1))]);
        expect(result.rejected.map((r) => r.change.seq)).toEqual([12]);
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1), item(2, 'dos', 2, 2)]);
        expect((await t.log()).map((c) => [c.seq, c.decision])).toEqual([[10, 'refused']]);
        expect((await t.letters()).map((l) => l.seq)).toEqual([10]);
      });

      // The timeout does not depend on the target: run it once.
      (kind === 'postgres' ? it : it.skip)('a resolver that never answers: the change becomes a dead letter after 5 s', async () => {
        const t = await fresh({ resolution: 'custom', resolver: 'silent' }, seed, {}, await loader.load('silent'));
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        await t.apply([update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2)), update(11, item(2, 'two', 2, 1), item(2, 'dos', 2, 2))]);
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1), item(2, 'dos', 2, 2)]);
        expect(await t.log()).toMatchObject([{ seq: 10, decision: 'refused' }]);
        expect((await t.letters())[0].reason).toMatch(/resolver silent did not answer within 5000 ms/);
      }, 20_000);
    });

    describe('a local writer racing the decision', () => {
      it('cannot have its insert of the same new key overwritten: it waits for the batch (MySQL) or the batch retries and sees it (PostgreSQL)', async () => {
        const t = await fresh({ resolution: 'target-wins' }, []);
        let local: Promise<unknown> | null = null;
        const racing: Partial<ApplyHooks> = {
          async resolveConflicts(changes, current) {
            const decided = await t.hooks().resolveConflicts!(changes, current); // no row yet: no conflict, the insert goes ahead
            // Between the decision and the write, a local writer inserts the same key.
            local = t.sql("INSERT INTO T (id, name, qty, updated_at) VALUES (7, 'local', 70, '2024-01-01 00:00:09')").then(
              () => 'inserted',
              (error: { errno?: number; code?: string }) => error.errno ?? error.code,
            );
            await new Promise((resolve) => setTimeout(resolve, 300));
            return decided;
          },
        };
        const incoming = [insert(10, item(7, 'incoming', 1, 1))];
        if (kind === 'mysql') {
          // REPEATABLE READ: the batch's locking read took the key's gap; the local insert waits, then finds the row.
          expect((await t.apply(incoming, racing)).rejected).toEqual([]);
          expect(await local).toBe(1062); // ER_DUP_ENTRY
          expect(await t.rows()).toEqual([item(7, 'incoming', 1, 1)]);
        } else {
          // REPEATABLE READ: writing a row inserted after the batch's snapshot fails (40001); the retried batch sees it.
          await expect(t.apply(incoming, racing)).rejects.toThrow(/could not serialize/);
          expect(await local).toBe('inserted');
          await t.apply(incoming);
          expect(await t.rows()).toEqual([item(7, 'local', 70, 9)]);
          expect((await t.log()).map((c) => [c.kind, c.decision])).toEqual([['exists', 'kept']]);
        }
      });
    });

    describe('replays and retries', () => {
      it('a replayed batch is no conflict: nothing new in the log, rows unchanged', async () => {
        const t = await fresh({ resolution: 'source-wins' }, [item(1, 'one', 1, 1), item(2, 'two', 2, 1)]);
        await t.sql('UPDATE T SET qty = 5 WHERE id IN (1, 2)');
        const changes = [update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2)), remove(11, item(2, 'two', 2, 1))];
        await t.apply(changes);
        const rows = await t.rows();
        const log = await t.log();
        expect(log).toHaveLength(2);
        // Meanwhile the target changes the row again: the replay must not see a conflict.
        await t.sql('UPDATE T SET qty = 6 WHERE id = 1');
        const replay = await t.apply(changes);
        expect(replay.applied).toBe(0);
        expect(await t.rows()).toEqual([{ ...rows[0], qty: 6 }]);
        expect(await t.log()).toEqual(log);
      });

      it('target-wins: a replayed batch records nothing new (its kept change was never written)', async () => {
        const t = await fresh({ resolution: 'target-wins' }, [item(1, 'one', 1, 1)]);
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        const changes = [update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2))];
        await t.apply(changes);
        const log = await t.log();
        await t.apply(changes);
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1)]);
        expect(await t.log()).toEqual(log);
      });

      it('a target transaction that fails after the hook leaves one log row per seq, the first record as it was', async () => {
        const t = await fresh({ resolution: 'source-wins' }, [item(1, 'one', 1, 1)]);
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        const changes = [update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2))];
        const failing: ApplyHooks['resolveConflicts'] = async (fresh, current) => {
          await resolveConflicts(t.route, t.setup, fresh, current, wires(fresh), deps);
          throw new Error('target went away after the hook');
        };
        await expect(t.apply(changes, { resolveConflicts: failing })).rejects.toThrow('target went away after the hook');
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1)]); // rolled back
        const first = await t.log();
        expect(first).toMatchObject([{ seq: 10, decision: 'applied' }]);
        // Retried, after a local change that makes the target row differ from what the first attempt saw.
        await t.sql('UPDATE T SET qty = 6 WHERE id = 1');
        await t.apply(changes);
        expect(await t.rows()).toEqual([item(1, 'uno', 1, 2)]);
        expect(await t.log()).toEqual(first);
      });

      it('a failing recordRejected after resolution rolls back; the retry records each conflict once', async () => {
        const t = await fresh({ resolution: 'source-wins' }, [item(1, 'one', 1, 1)]);
        await t.sql('UPDATE T SET qty = 5 WHERE id = 1');
        // seq 11 is refused by the target (name longer than varchar(20)), so recordRejected is called.
        const changes = [update(10, item(1, 'one', 1, 1), item(1, 'uno', 1, 2)), insert(11, item(2, 'x'.repeat(40), 2, 1))];
        const refuse = async () => {
          throw new Error('control database unavailable');
        };
        await expect(t.apply(changes, { recordRejected: refuse })).rejects.toThrow('control database unavailable');
        expect(await t.rows()).toEqual([item(1, 'one', 5, 1)]);
        expect(await t.log()).toMatchObject([{ seq: 10, decision: 'applied' }]);
        const result = await t.apply(changes);
        expect(result.rejected.map((r) => r.change.seq)).toEqual([11]);
        expect(await t.rows()).toEqual([item(1, 'uno', 1, 2)]);
        const log = await t.log();
        expect(log.map((c) => c.seq)).toEqual([10]);
      });
    });
  });
});

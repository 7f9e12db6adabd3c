import { openMysql } from '@tributary/control';
import { COPY_CHUNK_SEPARATOR, migrateOutbox } from '@tributary/db';
import { routeWants, tableNameSpans } from '@tributary/model';
import { OutboxRepository } from '@tributary/outbox';
import { createMysqlDatabase, TestDatabase } from '@tributary/testing';
import { Knex } from 'knex';
import { RangeChunk, RangeReader } from './range-reader';

describe('RangeReader (real MariaDB outbox)', () => {
  let source: TestDatabase;
  let knex: Knex;
  let outbox: OutboxRepository;
  const route = { routeId: 'r1', table: 'orders', targetId: 'pg' };

  beforeAll(async () => {
    source = await createMysqlDatabase('trib_reader');
    await migrateOutbox(source.knex);
    knex = openMysql(source.url);
    outbox = new OutboxRepository(knex);
    // seq 1..40: orders, with every 4th an items row, an echo at 10, copy records of r1 (11) and r2 (13).
    for (let seq = 1; seq <= 40; seq++) {
      const table = seq % 4 === 0 ? 'items' : 'orders';
      const origin = seq === 10 ? 'tributary:pg' : seq === 11 ? 'tributary-copy:r1' : seq === 13 ? 'tributary-copy:r2' : null;
      await knex.raw(
        "INSERT INTO _tributary_outbox (seq, table_name, op, pk, after_image, origin, ts, schema_hash) VALUES (?, ?, 'insert', '{}', '{}', ?, 0, 'h')",
        [seq, table, origin],
      );
    }
  });

  afterAll(async () => {
    await knex?.destroy();
    await source?.drop();
  });

  async function readAll(reader: RangeReader): Promise<RangeChunk[]> {
    const chunks: RangeChunk[] = [];
    for (;;) {
      const chunk = await reader.next();
      chunks.push(chunk);
      if (chunk.done) return chunks;
    }
  }

  const seqs = (chunks: RangeChunk[]) => chunks.flatMap((chunk) => chunk.changes.map((change) => change.seq));

  it('reads the route rows of the ranges above the floor, in seq order and bounded chunks, and says how far each chunk covers', async () => {
    const reader = new RangeReader(outbox, route, [{ from: 1, to: 14 }, { from: 30, to: 35 }], 2, 4);
    const chunks = await readAll(reader);
    // Not 4, 8, 12, 32 (items), 10 (its own target's echo), 13 (another route's copy); 11 is its own copy record.
    expect(seqs(chunks)).toEqual([3, 5, 6, 7, 9, 11, 14, 30, 31, 33, 34, 35]);
    expect(chunks.map((chunk) => chunk.changes.length)).toEqual([4, 4, 4, 0]);
    expect(chunks.map((chunk) => chunk.coveredTo)).toEqual([7, 30, 35, 35]);
    expect(chunks[chunks.length - 1].done).toBe(true);
  });

  it("reads a renamed table's rows under each name it had, for that name's stretch only (SQL twin of routeWants)", async () => {
    // seq 2000..2011: 'a' (the table's first name) up to 2003, 'b' after; 'a' again from 2008 is another table that took the freed name.
    const names = ['a', 'a', 'x', 'a', 'b', 'b', 'x', 'b', 'a', 'b', 'a', 'b'];
    for (const [i, table] of names.entries()) {
      await knex.raw("INSERT INTO _tributary_outbox (seq, table_name, op, pk, after_image, origin, ts, schema_hash) VALUES (?, ?, 'insert', '{}', '{}', NULL, 0, 'h')", [2000 + i, table]);
    }
    const renames = [{ from: 'a', to: 'b', at: 2003 }];
    for (const table of ['a', 'b']) {
      const selector = { routeId: `renamed-${table}`, table, targetId: 'pg', names: tableNameSpans(table, renames)! };
      const read = seqs(await readAll(new RangeReader(outbox, selector, [{ from: 2000, to: 2011 }], 0, 100)));
      const wanted = names.flatMap((name, i) => (routeWants({ table: name, seq: 2000 + i, origin: null }, selector) ? [2000 + i] : []));
      expect({ table, read }).toEqual({ table, read: wanted });
    }
    expect(seqs(await readAll(new RangeReader(outbox, { routeId: 'rb', table: 'b', targetId: 'pg', names: tableNameSpans('b', renames)! }, [{ from: 2000, to: 2011 }], 0, 100)))).toEqual([
      2000, 2001, 2003, 2004, 2005, 2007, 2009, 2011,
    ]);
    expect(seqs(await readAll(new RangeReader(outbox, { routeId: 'ra', table: 'a', targetId: 'pg', names: tableNameSpans('a', renames)! }, [{ from: 2000, to: 2011 }], 0, 100)))).toEqual([2008, 2010]);
  });

  it('keeps exactly the rows routeWants keeps, whatever path a change took (forwarding: rings, stars)', async () => {
    const origins = [null, 'tributary:a', 'tributary:b', 'tributary:a,b', 'tributary:b,a', 'tributary:ab', 'tributary:c,ab,d', 'tributary:', 'tributary-copy:k', 'tributary-copy:paths-r', 'custom'];
    for (const [i, origin] of origins.entries()) {
      await knex.raw(
        "INSERT INTO _tributary_outbox (seq, table_name, op, pk, after_image, origin, ts, schema_hash) VALUES (?, 'paths', 'insert', '{}', '{}', ?, 0, 'h')",
        [1000 + i, origin],
      );
    }
    for (const targetId of ['a', 'b', 'ab', 'd', 'z']) {
      for (const localOnly of [false, true]) {
        const selector = { routeId: 'paths-r', table: 'paths', targetId, ...(localOnly ? { localOnly } : {}) };
        const read = seqs(await readAll(new RangeReader(outbox, selector, [{ from: 1000, to: 1000 + origins.length - 1 }], 0, 100)));
        const wanted = origins.flatMap((origin, i) => (routeWants({ table: 'paths', seq: 1000 + i, origin }, selector) ? [1000 + i] : []));
        expect({ targetId, localOnly, read }).toEqual({ targetId, localOnly, read: wanted });
      }
    }
    // The paths that matter: b has a's change already, and the route to a never gets it back.
    expect(routeWants({ table: 'paths', seq: 1, origin: 'tributary:a,b' }, { routeId: 'r', table: 'paths', targetId: 'a' })).toBe(false);
    expect(routeWants({ table: 'paths', seq: 1, origin: 'tributary:a,b' }, { routeId: 'r', table: 'paths', targetId: 'c' })).toBe(true);
  });

  it('reads nothing below the floor (a re-sent range costs nothing) and still ends where the ranges end', async () => {
    const reader = new RangeReader(outbox, route, [{ from: 1, to: 20 }], 20, 100);
    expect(await readAll(reader)).toEqual([{ changes: [], coveredTo: 20, done: true }]);
  });

  it('hands a copy chunk out on its own, whole, with its rows read then, between what comes before and after it', async () => {
    // seq 51: an order; 52, 54: copy chunks of r1 (3 and 2 rows); 53: an order; 55: a chunk whose payload is broken.
    const chunk = (rows: number[]) => rows.flatMap((id) => [`{"id":${id}}`, `{"id":${id},"v":"x"}`]).join(COPY_CHUNK_SEPARATOR);
    const rows: Array<[number, string, string]> = [
      [51, '{"id":1}', '{}'],
      [52, '', chunk([7, 8, 9])],
      [53, '{"id":2}', '{}'],
      [54, '', chunk([10, 11])],
      [55, '', '{"id":12}'],
    ];
    for (const [seq, pk, after] of rows) {
      const origin = pk === '' ? 'tributary-copy:r1' : null;
      await knex.raw("INSERT INTO _tributary_outbox (seq, table_name, op, pk, after_image, origin, ts, schema_hash) VALUES (?, 'orders', 'insert', ?, ?, ?, 0, 'h')", [
        seq,
        pk,
        after,
        origin,
      ]);
    }
    const reader = new RangeReader(outbox, route, [{ from: 51, to: 54 }], 0, 100);
    const chunks = await readAll(reader);
    expect(chunks.map((c) => [c.changes.map((w) => `${w.seq}:${w.pk}`), c.coveredTo, c.done])).toEqual([
      [['51:{"id":1}'], 51, false],
      [['52:{"id":7}', '52:{"id":8}', '52:{"id":9}'], 52, false],
      [['53:{"id":2}'], 53, false],
      [['54:{"id":10}', '54:{"id":11}'], 54, true],
    ]);
    expect(chunks[1].changes[2]).toMatchObject({ op: 'insert', after: '{"id":9,"v":"x"}', before: null, origin: 'tributary-copy:r1', chunkRow: true });
    // The route's backlog counts a chunk as the rows it carries: 51, 53 and the 3 + 2 rows of 52 and 54.
    expect(await outbox.routeBacklog(route, 50, 1000)).toMatchObject({ count: 7 });
    expect((await outbox.routeBacklog(route, 52, 1000)).count).toBe(3);
    // A payload that is not what the copier writes stops the read with why: never skipped.
    await expect(readAll(new RangeReader(outbox, route, [{ from: 55, to: 55 }], 0, 100))).rejects.toThrow(/copy chunk at outbox seq 55 cannot be read: 1 texts, not key and row images in pairs/);
  });

  it('reads more ranges than fit in one statement', async () => {
    const singles = Array.from({ length: 40 }, (_, i) => ({ from: i + 1, to: i + 1 }));
    const many = [...singles, ...Array.from({ length: 600 }, (_, i) => ({ from: 1000 + 2 * i, to: 1000 + 2 * i }))];
    const reader = new RangeReader(outbox, route, many, 0, 1000);
    const read = seqs(await readAll(reader));
    expect(read).toHaveLength(28); // 30 orders rows in 1..40, less the echo and the other route's copy
    expect(read[0]).toBe(1);
    expect(read[read.length - 1]).toBe(39);
  });

  it('gives each partition of a route its keys, in SQL for changes and in the worker for a copy chunk\'s rows, and a key move to every partition', async () => {
    // seq 101..160: inserts, updates and deletes of keys 1..20 (unicode in the key text), then a key move (161) and a copy chunk (162).
    const pkOf = (id: number) => `{"id": ${id}, "tag": "k✓${id}"}`;
    for (let seq = 101; seq <= 160; seq++) {
      const id = 1 + (seq % 20);
      const op = seq % 3 === 0 ? 'update' : seq % 3 === 1 ? 'insert' : 'delete';
      const before = op === 'insert' ? null : `{"id": ${id}, "tag": "k✓${id}", "v": 1}`;
      const after = op === 'delete' ? null : '{}';
      await knex.raw(
        "INSERT INTO _tributary_outbox (seq, table_name, op, pk, before_image, after_image, origin, ts, schema_hash) VALUES (?, 'parts', ?, ?, ?, ?, NULL, 0, 'h')",
        [seq, op, pkOf(id), before, after],
      );
    }
    await knex.raw("INSERT INTO _tributary_outbox (seq, table_name, op, pk, before_image, after_image, origin, ts, schema_hash) VALUES (161, 'parts', 'update', ?, ?, '{}', NULL, 0, 'h')", [
      pkOf(99),
      '{"id": 3, "tag": "k✓3", "v": 1}',
    ]);
    const copied = [21, 22, 23, 24, 25, 26].flatMap((id) => [pkOf(id), `{"id": ${id}}`]).join(COPY_CHUNK_SEPARATOR);
    await knex.raw("INSERT INTO _tributary_outbox (seq, table_name, op, pk, after_image, origin, ts, schema_hash) VALUES (162, 'parts', 'insert', '', ?, 'tributary-copy:p', 0, 'h')", [copied]);
    const parts = { routeId: 'p', table: 'parts', targetId: 'pg' };
    const readBy = async (partition: { index: number; count: number } | null) =>
      (await readAll(new RangeReader(outbox, parts, [{ from: 101, to: 162 }], 0, 7, partition))).flatMap((chunk) => chunk.changes.map((c) => `${c.seq}:${c.pk}`));
    const whole = await readBy(null);
    expect(whole).toHaveLength(61 + 6);
    const byPartition = await Promise.all([0, 1, 2].map((index) => readBy({ index, count: 3 })));
    // Every change in exactly one partition, by its key (MariaDB's CRC32 agrees with the worker's); the key move in all three.
    for (const change of whole) {
      const holders = byPartition.filter((read) => read.includes(change)).length;
      expect([change, holders]).toEqual([change, change.startsWith('161:') ? 3 : 1]);
    }
    for (const read of byPartition) expect(read.length).toBeGreaterThan(5);
  });
});

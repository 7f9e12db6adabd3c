import { openMysql } from '@tributary/control';
import { migrateOutbox } from '@tributary/db';
import { createMysqlDatabase, TestDatabase } from '@tributary/testing';
import { Knex } from 'knex';
import { coveringRanges, OutboxRepository, RANGES_PER_QUERY } from './outbox.repository';

describe('coveringRanges', () => {
  it('joins the nearest neighbours first until at most max ranges cover them all', () => {
    const ranges = [
      { from: 1, to: 1 },
      { from: 3, to: 4 },
      { from: 100, to: 100 },
      { from: 102, to: 102 },
      { from: 500, to: 510 },
    ];
    expect(coveringRanges(ranges, 5)).toEqual(ranges);
    expect(coveringRanges(ranges, 3)).toEqual([
      { from: 1, to: 4 },
      { from: 100, to: 102 },
      { from: 500, to: 510 },
    ]);
    expect(coveringRanges(ranges, 1)).toEqual([{ from: 1, to: 510 }]);
  });
});

describe('OutboxRepository.readHeadersPolled (real MariaDB outbox)', () => {
  let source: TestDatabase;
  let knex: Knex;
  let outbox: OutboxRepository;

  beforeAll(async () => {
    source = await createMysqlDatabase('trib_poll');
    await migrateOutbox(source.knex);
    knex = openMysql(source.url);
    outbox = new OutboxRepository(knex);
  });

  afterAll(async () => {
    await knex?.destroy();
    await source?.drop();
  });

  const insert = (seqs: number[]) =>
    knex.raw(
      `INSERT INTO _tributary_outbox (seq, table_name, op, pk, after_image, ts, schema_hash) VALUES ${seqs.map(() => "(?, 't', 'insert', '{}', '{}', 0, 'h')").join(', ')}`,
      seqs,
    );

  it('reads more holes than one statement lists in one statement when asked to, returning only the rows inside them', async () => {
    // Every third id of 1..3000 missing: 1,000 holes, twice what one statement lists one by one.
    const all = Array.from({ length: 3000 }, (_, i) => i + 1);
    await insert(all.filter((seq) => seq % 3 !== 0));
    const holes = all.filter((seq) => seq % 3 === 0).map((seq) => ({ from: seq, to: seq }));
    expect(holes.length).toBeGreaterThan(RANGES_PER_QUERY);
    expect((await outbox.readHeadersPolled(3000, 10, holes)).viewMicros).toBeNull();
    const empty = await outbox.readHeadersPolled(3000, 10, holes, { oneView: true });
    expect(empty.filled).toEqual([]);
    expect(empty.viewMicros).not.toBeNull();
    // Some holes fill, and rows arrive past the end.
    await insert([3, 1500, 2997, 3001, 3002]);
    const polled = await outbox.readHeadersPolled(3000, 10, holes, { oneView: true });
    expect(polled.filled.map((header) => header.seq)).toEqual([3, 1500, 2997]);
    expect(polled.fresh.map((header) => header.seq)).toEqual([3001, 3002]);
    expect(polled.viewMicros).not.toBeNull();
  });

  it('gives up the one statement when covering the holes would re-read too much, and still finds every filled hole', async () => {
    // 600 holes spread over 600,000 ids: covering them in 500 ranges would re-read some 100,000 ids.
    const holes = Array.from({ length: 600 }, (_, i) => ({ from: 10_000 + i * 1000, to: 10_000 + i * 1000 }));
    await insert([10_000, 609_000]);
    const polled = await outbox.readHeadersPolled(3002, 10, holes, { oneView: true });
    expect(polled.filled.map((header) => header.seq)).toEqual([10_000, 609_000]);
    expect(polled.viewMicros).toBeNull();
  });
});

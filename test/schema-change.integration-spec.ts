import { Knex } from 'knex';
import { PostgresTarget } from '@tributary/targets';
import { createPipeline, Pipeline, routeItemsToPostgres, runItemsWorkload, sleep } from '@tributary/testing';

/**
 * A captured table changes shape while it is replicated: a column is added
 * under a concurrent workload, then a column that is NOT NULL at the target
 * is dropped. Both go through setup.alterTable (ALTER and new triggers as
 * one step at the source); the worker evolves the PostgreSQL table when the
 * first change with each new schema arrives. Nothing may stall, fail or
 * become a dead letter, and the target must end equal to the source.
 */
describe('schema change: MariaDB source altered through Tributary → PostgreSQL', () => {
  let pipeline: Pipeline;
  let pg: PostgresTarget;

  beforeAll(async () => {
    pipeline = await createPipeline();
    await routeItemsToPostgres(pipeline);
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
    pipeline.start('relay');
    pipeline.start('worker');
  });

  afterAll(async () => {
    await pg?.close();
    await pipeline?.teardown();
  });

  /** Rows of our own, at ids the workload never touches (it uses 1..keySpace and +100000). */
  const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  async function insertRows(knex: Knex, rows: number[], columns: 'name' | 'name+note' | 'note'): Promise<void> {
    for (const id of rows) {
      const name = columns === 'note' ? [] : [`r${id}`];
      const note = columns === 'name' ? [] : [`n${id}`];
      const names = [...(name.length ? ['name'] : []), ...(note.length ? ['note'] : [])];
      await knex.raw(
        `INSERT INTO items (id, grp, amount, noted, payload, ${names.join(', ')})
         VALUES (?, 1, ? / 100, NOW(6), JSON_OBJECT('id', ?), ${names.map(() => '?').join(', ')})`,
        [id, id, id, ...name, ...note],
      );
    }
  }

  it('adds and drops columns under load without stalling, refusing or losing a row', async () => {
    const { source, setup } = pipeline;
    await insertRows(source.knex, ids(1000, 1019), 'name');

    let stop = false;
    const load = runItemsWorkload(source.url, { connections: 3, transactionsPerConnection: 100_000, keySpace: 50, stop: () => stop });
    await sleep(400);
    const added = await setup.alterTable('src', 'items', 'ADD COLUMN note VARCHAR(20) NULL');
    await sleep(400);
    stop = true;
    const stats = await load;
    expect(stats.committed).toBeGreaterThan(20);
    expect(added.schema.columns.map((column) => column.name)).toContain('note');

    await source.knex.raw("UPDATE items SET note = CONCAT('u', id) WHERE id BETWEEN 1000 AND 1004");
    await insertRows(source.knex, ids(1020, 1029), 'name+note');

    // `name` is NOT NULL at the target: rows without it must still go in.
    const dropped = await setup.alterTable('src', 'items', 'DROP COLUMN name');
    expect(dropped.schema.columns.map((column) => column.name)).toEqual(['id', 'grp', 'amount', 'noted', 'payload', 'note']);
    await insertRows(source.knex, ids(1030, 1039), 'note');
    await source.knex.raw("UPDATE items SET note = 'changed', grp = 2 WHERE id = 1020");
    await source.knex.raw('DELETE FROM items WHERE id = 1001');

    // Three shapes went through the outbox: the original, with note, without name.
    const [hashes] = (await source.knex.raw('SELECT COUNT(DISTINCT schema_hash) AS n FROM _tributary_outbox')) as [{ n: number }[]];
    expect(Number(hashes[0].n)).toBe(3);
    expect((await pipeline.catalog.listCapturedTables('src')).map((t) => t.schemaHash)).toEqual([dropped.schema.hash]);

    await pipeline.waitForCatchUp('items-pg', 30_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${pipeline.logs()}`);
    });
    expect(await pipeline.deadLetters.list('items-pg', { status: 'all', limit: 500 })).toEqual([]);

    // The target gained `note`, kept `name` (NULL-able now, old values kept), and holds every row.
    const columns = await pipeline.postgres.knex.raw<{ rows: { name: string; type: string; nullable: string }[] }>(
      `SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'items' AND column_name IN ('name', 'note') ORDER BY column_name`,
    );
    expect(columns.rows).toEqual([
      { name: 'name', type: 'character varying', nullable: 'YES' },
      { name: 'note', type: 'character varying', nullable: 'YES' },
    ]);
    const ours = await pipeline.postgres.knex.raw<{ rows: { id: number; name: string | null; note: string | null }[] }>(
      'SELECT id, name, note FROM items WHERE id BETWEEN 1000 AND 1999 ORDER BY id',
    );
    const expected = [
      ...ids(1000, 1004).filter((id) => id !== 1001).map((id) => ({ id, name: `r${id}`, note: `u${id}` })),
      ...ids(1005, 1019).map((id) => ({ id, name: `r${id}`, note: null })),
      { id: 1020, name: 'r1020', note: 'changed' },
      ...ids(1021, 1029).map((id) => ({ id, name: `r${id}`, note: `n${id}` })),
      ...ids(1030, 1039).map((id) => ({ id, name: null, note: `n${id}` })),
    ];
    expect(ours.rows).toEqual(expected);

    // Every column the source still has, row by row (the workload's rows included).
    const { source: sourceRows, target: targetRows } = await pipeline.compare('items', pg, 'items');
    expect(sourceRows.length).toBeGreaterThan(expected.length);
    expect(Object.keys(sourceRows[0]).sort()).toEqual(['amount', 'grp', 'id', 'note', 'noted', 'payload']);
    expect(targetRows).toEqual(sourceRows);
  });

  it('widens a column and a number at the target when the source widens them, so longer values are applied, not refused', async () => {
    const { source, setup } = pipeline;
    // note VARCHAR(20) and grp INT at both ends so far: a value that needs more goes in only once both are widened.
    const widened = await setup.alterTable('src', 'items', 'MODIFY COLUMN note VARCHAR(120) NULL, MODIFY COLUMN grp BIGINT NOT NULL');
    expect(widened.schema.columns.find((column) => column.name === 'note')?.columnType).toBe('varchar(120)');
    const long = 'a note far longer than the twenty characters it had before';
    await source.knex.raw('INSERT INTO items (id, grp, amount, noted, payload, note) VALUES (2000, 9007199254740993, 1, NOW(6), NULL, ?)', [long]);
    await pipeline.waitForCatchUp('items-pg', 30_000);
    expect(await pipeline.deadLetters.list('items-pg', { status: 'all', limit: 10 })).toEqual([]);
    const columns = await pipeline.postgres.knex.raw<{ rows: { name: string; type: string }[] }>(
      `SELECT column_name AS name, format_type(a.atttypid, a.atttypmod) AS type FROM information_schema.columns c
         JOIN pg_attribute a ON a.attrelid = 'items'::regclass AND a.attname = c.column_name
        WHERE c.table_schema = current_schema() AND c.table_name = 'items' AND c.column_name IN ('grp', 'note') ORDER BY 1`,
    );
    expect(columns.rows).toEqual([
      { name: 'grp', type: 'bigint' },
      { name: 'note', type: 'character varying(120)' },
    ]);
    const row = await pipeline.postgres.knex.raw<{ rows: { grp: string; note: string }[] }>('SELECT grp::text AS grp, note FROM items WHERE id = 2000');
    expect(row.rows).toEqual([{ grp: '9007199254740993', note: long }]);
    const { source: sourceRows, target: targetRows } = await pipeline.compare('items', pg, 'items');
    expect(targetRows).toEqual(sourceRows);
  });
});

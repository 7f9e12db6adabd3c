import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { captureStatus } from '@tributary/capture';
import { createPipeline, freePort, Pipeline, routeItemsToPostgres, runItemsWorkload, waitFor } from '@tributary/testing';

const run = promisify(execFile);
const PT_OSC = '/usr/bin/pt-online-schema-change';

/**
 * A schema change made with pt-online-schema-change (Debian's
 * percona-toolkit) while the application writes (issue #17). The tool
 * copies the table into a new one through triggers of its own and swaps the
 * two; with `--preserve-triggers` it moves Tributary's capture triggers to
 * the new table, one at a time. Measured here: while they are split between
 * the tables, its REPLACE into the new table can fire our delete trigger
 * there before our insert trigger has moved — a row deleted at the target
 * that the source still has. The swap gives the table a new InnoDB id, the
 * admin takes it for a rebuilt table and repairs the route from the source,
 * so the target ends equal; the new column is captured once capture is
 * refreshed (the triggers show as drifted until then).
 */
describe('pt-online-schema-change on a captured table', () => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    if (!existsSync(PT_OSC)) throw new Error(`${PT_OSC} is missing: install Debian's percona-toolkit (.ci/run does)`);
    pipeline = await createPipeline();
    await routeItemsToPostgres(pipeline);
    // All in one: the admin's watch for rebuilt tables is part of what is tested.
    pipeline.start('tributary', { ADMIN_PORT: String(await freePort()) });
  });

  afterAll(async () => {
    await pipeline?.teardown();
  });

  it('ends with the target equal to the source: what the trigger move loses is repaired after the swap; the new column is captured after a refresh', async () => {
    const { source, postgres, control } = pipeline;
    await runItemsWorkload(source.url, { connections: 2, transactionsPerConnection: 40, keySpace: 200 });
    // The watch has seen the table as it is (its InnoDB id), as it has long before any real schema change.
    await waitFor(async () => (await control.knex('tributary_tables').where({ table_name: 'items' }).first())?.innodb_table_id !== null, {
      what: "the admin's first look at the table",
    });

    let stop = false;
    const load = runItemsWorkload(source.url, { connections: 3, transactionsPerConnection: 100_000, keySpace: 200, stop: () => stop });
    const database = new URL(source.url).pathname.slice(1);
    try {
      // Chunks of 10 rows, so the copy and the trigger move run while the writers change the table.
      const args = ['--alter', 'ADD COLUMN extra INT NULL', '--preserve-triggers', '--execute', '--chunk-size', '10', `h=127.0.0.1,P=3306,u=root,D=${database},t=items`];
      await run(PT_OSC, args, { timeout: 120_000 });
    } finally {
      stop = true;
    }
    expect((await load).committed).toBeGreaterThan(20);

    const columns = 'id, grp, name, CAST(amount AS CHAR) AS amount';
    const equal = async () => {
      const [atSource] = (await source.knex.raw(`SELECT ${columns} FROM items ORDER BY id`)) as unknown as [unknown[]];
      const atTarget = (await postgres.knex.raw('SELECT id, grp, name, amount::text AS amount FROM items ORDER BY id')).rows;
      return atSource.length > 50 && JSON.stringify(atTarget) === JSON.stringify(atSource);
    };
    await waitFor(equal, { what: 'the target equal to the source (the columns both have)', timeoutMs: 90_000 });
    const repairs = await control.knex('tributary_verify_runs').where({ route_id: 'items-pg', kind: 'repair' });
    expect(repairs.length).toBeGreaterThan(0);

    // The new table carries our triggers; they still write the old column list, so capture shows it drifted.
    const status = await captureStatus(source.knex, 'items');
    expect(status).toMatchObject({ installed: true, drifted: true });
    expect(status.triggers).toHaveLength(3);
    // Refreshing capture adopts the new column: its next change carries it.
    await pipeline.setup.captureTable('src', 'items');
    expect(await captureStatus(source.knex, 'items')).toMatchObject({ drifted: false });
    await source.knex.raw("INSERT INTO items (id, grp, name, amount, noted, payload, extra) VALUES (999999, 1, 'after', 1.00, NOW(6), NULL, 7)");
    await waitFor(async () => (await postgres.knex('items').where({ id: 999999 })).length === 1, { what: 'the row written after the refresh', timeoutMs: 30_000 });
    expect((await postgres.knex('items').where({ id: 999999 }).first()).extra).toBe(7);
  }, 240_000);
});

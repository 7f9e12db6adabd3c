import knexFactory from 'knex';
import { TEST_MYSQL_URL, uniqueName } from '@tributary/testing';
import { CONTROL_TABLES, reservedTableReason } from '@tributary/db';
import { prepareControlDatabase } from './control-database';

describe('prepareControlDatabase (real MariaDB)', () => {
  const database = uniqueName('trib_ctl');
  const user = uniqueName('trib_ro').slice(0, 32);
  const server = knexFactory({ client: 'mysql2', connection: TEST_MYSQL_URL });

  afterAll(async () => {
    await server.raw(`DROP DATABASE IF EXISTS \`${database}\``);
    await server.raw(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
    await server.destroy();
  });

  it('creates and migrates a missing control database, and lets a read-only user start against it', async () => {
    const admin = await prepareControlDatabase(`${TEST_MYSQL_URL}/${database}`);
    await admin.destroy();
    await server.raw(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'ro-password-1'`);
    await server.raw(`GRANT SELECT ON \`${database}\`.* TO '${user}'@'127.0.0.1'`);

    const url = new URL(`${TEST_MYSQL_URL}/${database}`);
    url.username = user;
    url.password = 'ro-password-1';
    const readOnly = await prepareControlDatabase(url.toString());
    const [rows] = await readOnly.raw('SELECT COUNT(*) AS n FROM tributary_routes');
    expect(Number(rows[0].n)).toBe(0);
    await readOnly.destroy();
  });
});

describe('the control schema and the reserved names', () => {
  const database = uniqueName('trib_ctl_names');
  const server = knexFactory({ client: 'mysql2', connection: TEST_MYSQL_URL });

  afterAll(async () => {
    await server.raw(`DROP DATABASE IF EXISTS \`${database}\``);
    await server.destroy();
  });

  it('reserves every table the control schema has, so no route can write one and no capture can record one', async () => {
    const control = await prepareControlDatabase(`${TEST_MYSQL_URL}/${database}`);
    const [rows] = await control.raw('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?', [database]);
    await control.destroy();
    const tables = (rows as Array<{ name: string }>).map((row) => row.name).sort();
    expect(tables.length).toBeGreaterThan(5);
    expect(tables).toEqual([...CONTROL_TABLES].sort());
    for (const table of tables) expect(reservedTableReason(table.toUpperCase())).toMatch(/reserved/);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { InvalidInputError } from '@tributary/setup';
import { MysqlTarget, PostgresTarget, SqliteTarget, Target } from '@tributary/targets';
import {
  AppProcess,
  BANK_STATE_SQL,
  BankState,
  bankStateHolds,
  bankStateOf,
  createMysqlDatabase,
  createPipeline,
  Pipeline,
  runTransfers,
  seedTransfers,
  sleep,
  TestDatabase,
  TRANSFERS_DDL,
  TRANSFERS_TABLES,
  waitFor,
} from '@tributary/testing';

/**
 * Targets with option `transactional` (issue #15): a reader at the target
 * never sees part of a source transaction. A bank moves money between two
 * tables and writes each transfer down in a third; readers at PostgreSQL,
 * MySQL and SQLite targets check the invariants in a tight loop while
 * transfers run, the relay and the worker are SIGKILLed twice, and some
 * transactions are larger than a worker's read and a relay's poll. Every
 * state a reader sees must be one the source was in; afterwards every
 * target equals the source.
 */
describe('transactional targets: whole source transactions', () => {
  let pipeline: Pipeline;
  let mysql: TestDatabase;
  let dir: string;
  let sqlitePath: string;
  const readers: Target[] = [];

  /** Reads the bank at a target in one statement (one snapshot), or null while its tables do not exist yet. */
  type BankReader = () => Promise<BankState | null>;
  const bankReaders: Record<string, BankReader> = {};

  beforeAll(async () => {
    pipeline = await createPipeline();
    mysql = await createMysqlDatabase('trib_txn_my');
    dir = mkdtempSync(join(tmpdir(), 'trib-txn-'));
    sqlitePath = join(dir, 'bank.db');
    const { source, setup } = pipeline;
    for (const ddl of TRANSFERS_DDL) await source.knex.raw(ddl);
    await setup.addSource('src', source.url);
    for (const table of TRANSFERS_TABLES) await setup.captureTable('src', table);
    await setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: { transactional: true } });
    await setup.addTarget({ id: 'my', kind: 'mysql', url: mysql.url, options: { transactional: true } });
    await setup.addTarget({ id: 'lite', kind: 'sqlite', url: `sqlite://${sqlitePath}`, options: { transactional: true } });
    for (const target of ['pg', 'my', 'lite']) {
      for (const table of TRANSFERS_TABLES) {
        await setup.addRoute({ id: `${table}-${target}`, sourceId: 'src', table, targetId: target, targetTable: table, enabled: true });
      }
    }
    readers.push(
      new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url }),
      new MysqlTarget({ kind: 'mysql', url: mysql.url }),
      new SqliteTarget({ kind: 'sqlite', url: `sqlite://${sqlitePath}` }),
    );
    const missing = (error: unknown) => /does not exist|doesn't exist|no such table|unable to open/i.test(String((error as Error).message));
    const tolerant = (read: () => Promise<Record<string, unknown>>): BankReader => async () => {
      try {
        return bankStateOf(await read());
      } catch (error) {
        if (missing(error)) return null;
        throw error;
      }
    };
    bankReaders.pg = tolerant(async () => (await pipeline.postgres.knex.raw(BANK_STATE_SQL)).rows[0]);
    bankReaders.my = tolerant(async () => (await mysql.knex.raw(BANK_STATE_SQL))[0][0]);
    let lite: Database.Database | null = null;
    bankReaders.lite = tolerant(async () => {
      lite ??= new Database(sqlitePath, { readonly: true, fileMustExist: true });
      return lite.prepare(BANK_STATE_SQL).get() as Record<string, unknown>;
    });
  });

  afterAll(async () => {
    await Promise.all(readers.map((reader) => reader.close()));
    await pipeline?.teardown();
    await mysql?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a partitioned route or a conflict policy into a transactional target, and turning a target transactional under one', async () => {
    const route = { id: 'odd', sourceId: 'src', table: 'savings', targetId: 'pg', targetTable: 'savings_odd' };
    await expect(pipeline.setup.routes.create({ ...route, partitions: 2 })).rejects.toThrow(/partitions: target pg is transactional/);
    await expect(pipeline.setup.routes.create({ ...route, conflictPolicy: { resolution: 'source-wins' } })).rejects.toThrow(InvalidInputError);
    expect(await pipeline.catalog.getRoute('odd')).toBeNull();

    await pipeline.setup.addTarget({ id: 'plain', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    await pipeline.setup.routes.create({ ...route, targetId: 'plain', partitions: 2, initialCopy: false });
    await expect(pipeline.setup.targets.update('plain', { options: { transactional: true } })).rejects.toThrow(/route odd into it can have no partitions/);
    await expect(pipeline.setup.targets.create({ id: 'hooked', kind: 'http', url: 'http://127.0.0.1:9/x', options: { secret: 'a-webhook-secret', transactional: true } })).rejects.toThrow(
      /unknown option transactional/,
    );
    await pipeline.setup.routes.delete('odd');
    await pipeline.setup.targets.delete('plain');
  });

  it('never shows a reader part of a source transaction, through kills of relay and worker, and ends equal', async () => {
    // Small reads: a sweep (401 rows) spans several polls of the relay and several reads of the worker.
    const env = { RELAY_BATCH_ROWS: '300', JOB_MAX_ROWS: '150', SQLITE_DIR: dir };
    let relay: AppProcess = pipeline.start('relay', env);
    let worker: AppProcess = pipeline.start('worker', env);

    let stop = false;
    let watching = true;
    const seen: Record<string, BankState[]> = { pg: [], my: [], lite: [] };
    // Readers at every target, from before the first write until every route has caught up.
    const readersDone = Object.entries(bankReaders).map(async ([target, read]) => {
      while (watching) {
        const state = await read();
        if (state) seen[target].push(state);
        await sleep(20);
      }
    });
    try {
      await seedTransfers(pipeline.source.url);
      // Paced: a transactional target's jobs go out after a poll that came back short (the feed is sealed), so
      // writers the relay's 300-row polls cannot keep up with would hold every target still until they stop.
      const transfers = runTransfers(pipeline.source.url, { connections: 4, stop: () => stop, sweepEvery: 40, pauseMs: 10 });
      try {
        // Undisturbed until the readers at every target have seen the bank move (not only its first and last
        // states: the invariants must hold in between), then kills: a killed worker's job waits for its lock to run out.
        const moved = (states: BankState[]) => new Set(states.map((state) => state.transfers)).size >= 3;
        await waitFor(async () => Object.values(seen).every(moved), { timeoutMs: 30_000, what: 'readers at every target to see the bank move' });
        await relay.kill('SIGKILL');
        relay = pipeline.start('relay', env);
        await sleep(1500);
        await worker.kill('SIGKILL');
        worker = pipeline.start('worker', env);
        await sleep(2000);
        await Promise.all([relay.kill('SIGKILL'), worker.kill('SIGKILL')]);
        relay = pipeline.start('relay', env);
        worker = pipeline.start('worker', env);
        await sleep(2000);
      } finally {
        stop = true;
      }
      const written = await transfers;
      expect(written.committed).toBeGreaterThan(100);
      expect(written.large).toBeGreaterThan(0);
      for (const target of ['pg', 'my', 'lite']) for (const table of TRANSFERS_TABLES) await pipeline.waitForCatchUp(`${table}-${target}`, 90_000);
    } finally {
      watching = false;
      await Promise.all(readersDone);
    }

    for (const [target, states] of Object.entries(seen)) {
      const broken = states.filter((state) => !bankStateHolds(state));
      expect({ target, broken: broken.slice(0, 3) }).toEqual({ target, broken: [] });
    }
    const targets: Record<string, Target> = { pg: readers[0], my: readers[1], lite: readers[2] };
    for (const [id, target] of Object.entries(targets)) {
      for (const table of TRANSFERS_TABLES) {
        const { source, target: rows } = await pipeline.compare(table, target, table);
        expect({ id, table, rows: rows.length, equal: JSON.stringify(rows) === JSON.stringify(source) }).toEqual({ id, table, rows: source.length, equal: true });
      }
    }
    await Promise.all([relay.kill('SIGTERM'), worker.kill('SIGTERM')]);
  }, 240_000);

  it('holds back the whole source transaction while the target refuses one of its rows, makes no dead letter, and applies it once the row fits', async () => {
    const env = { SQLITE_DIR: dir };
    const relay = pipeline.start('relay', env);
    const worker = pipeline.start('worker', env);
    const pg = pipeline.postgres.knex;
    await pg.raw('ALTER TABLE savings ADD CONSTRAINT savings_cap CHECK (balance < 1000000)');
    const before = bankStateOf((await pg.raw(BANK_STATE_SQL)).rows[0]);
    const source = pipeline.source.knex;
    await source.transaction(async (trx) => {
      await trx.raw('UPDATE checking SET balance = balance - 2000000 WHERE id = 1');
      await trx.raw('UPDATE savings SET balance = balance + 2000000 WHERE id = 2');
      await trx.raw('INSERT INTO ledger (checking_id, savings_id, amount, at) VALUES (1, 2, 2000000, NOW(6))');
    });
    // The other transactional targets take it; PostgreSQL's three routes all wait, saying why.
    await pipeline.waitForCatchUp('savings-my', 30_000);
    await waitFor(
      async () => {
        const progress = await pipeline.progress.listProgress(TRANSFERS_TABLES.map((table) => `${table}-pg`));
        return progress.length === 3 && progress.every((route) => /refused the change at seq \d+: .*savings_cap/.test(route.lastError ?? ''));
      },
      { timeoutMs: 30_000, what: "every PostgreSQL route's error naming the refused row" },
    );
    expect(bankStateOf((await pg.raw(BANK_STATE_SQL)).rows[0])).toEqual(before);
    expect(await pipeline.deadLetters.list('savings-pg', { status: 'all', limit: 10 })).toEqual([]);

    await pg.raw('ALTER TABLE savings DROP CONSTRAINT savings_cap');
    for (const table of TRANSFERS_TABLES) await pipeline.waitForCatchUp(`${table}-pg`, 30_000);
    const after = bankStateOf((await pg.raw(BANK_STATE_SQL)).rows[0]);
    expect(bankStateHolds(after)).toBe(true);
    expect(after.transfers).toBe(before.transfers + 1);
    await Promise.all([relay.kill('SIGTERM'), worker.kill('SIGTERM')]);
  }, 120_000);
});

import { Connection, createConnection } from 'mysql2/promise';
import { CatalogRepository, SnapshotRepository } from '@tributary/control';
import { migrateControl, OUTBOX_TABLE } from '@tributary/db';
import { ReplicationSetup } from '@tributary/setup';
import { defaultTargetRegistry } from '@tributary/targets';
import { itemsDdl, prng } from './items';
import { CpuMeter, pidsByName } from './proc';
import { BenchDatabase, Cleanup, createMysqlDatabase, median, note } from './support';

/**
 * What capture costs the source: the same write load against two identical
 * tables, one with capture triggers and one without, in alternating rounds
 * (off, on, off, on, ...) so that the machine's drift and noise hit both
 * sides of a pair alike.
 */
export interface OverheadOptions {
  mysqlUrl: string;
  pairs: number;
  /** Write statements per round, over all connections. */
  statements: number;
  connections: number;
}

export interface RoundResult {
  captured: boolean;
  statements: number;
  seconds: number;
  perSecond: number;
  outboxRows: number;
  /** MariaDB's CPU time per statement (µs): what the triggers add on the server, apart from waiting. */
  serverMicrosPerStatement: number;
  /** Share of all cores busy during the round (1 = saturated): the load generator runs on this machine too. */
  machineBusy: number;
  /** Cores used by processes other than MariaDB and the bench: a high value marks a round disturbed by others. */
  otherCores: number;
}

export interface OverheadResult {
  options: OverheadOptions;
  pairs: Array<{ off: RoundResult; on: RoundResult; ratio: number }>;
  medianOff: number;
  medianOn: number;
  /** Median over pairs of on/off: each pair ran back to back, so it is the fairest single number. */
  medianRatio: number;
  medianServerMicrosOff: number;
  medianServerMicrosOn: number;
}

const PLAIN = 'bench_plain';
const CAPTURED = 'bench_captured';

export async function measureCaptureOverhead(options: OverheadOptions, cleanup: Cleanup): Promise<OverheadResult> {
  // Its own control and source databases: the drain's relay must not see this source.
  const control = await createMysqlDatabase(options.mysqlUrl, 'trib_bench_ctl', cleanup);
  const source = await createMysqlDatabase(options.mysqlUrl, 'trib_bench_src', cleanup);
  await migrateControl(control.knex);
  await source.knex.raw(itemsDdl(PLAIN));
  await source.knex.raw(itemsDdl(CAPTURED));
  const setup = new ReplicationSetup(new CatalogRepository(control.knex), defaultTargetRegistry(), new SnapshotRepository(control.knex));
  await setup.addSource('bench', source.url);
  await setup.captureTable('bench', CAPTURED);

  // One short untimed round on each table: connection caches, trigger parsing, buffer pool.
  const warmup = { ...options, statements: Math.min(2000, options.statements) };
  await runRound(source, PLAIN, false, warmup);
  await runRound(source, CAPTURED, true, warmup);

  const pairs: OverheadResult['pairs'] = [];
  for (let pair = 1; pair <= options.pairs; pair++) {
    const off = await runRound(source, PLAIN, false, options);
    const on = await runRound(source, CAPTURED, true, options);
    pairs.push({ off, on, ratio: on.perSecond / off.perSecond });
    note(`capture pair ${pair}/${options.pairs}: off ${Math.round(off.perSecond)}/s, on ${Math.round(on.perSecond)}/s`);
  }
  return {
    options,
    pairs,
    medianOff: median(pairs.map((p) => p.off.perSecond)),
    medianOn: median(pairs.map((p) => p.on.perSecond)),
    medianRatio: median(pairs.map((p) => p.ratio)),
    medianServerMicrosOff: median(pairs.map((p) => p.off.serverMicrosPerStatement)),
    medianServerMicrosOn: median(pairs.map((p) => p.on.serverMicrosPerStatement)),
  };
}

/** One timed round from an empty table (and empty outbox), so every round does the same work. */
async function runRound(source: BenchDatabase, table: string, captured: boolean, options: OverheadOptions): Promise<RoundResult> {
  await source.knex.raw(`TRUNCATE TABLE \`${table}\``);
  if (captured) await source.knex.raw(`TRUNCATE TABLE \`${OUTBOX_TABLE}\``);
  const perConnection = Math.ceil(options.statements / options.connections);
  // Connections are opened before the clock starts: the round measures writes, not connects.
  const connections = await Promise.all(Array.from({ length: options.connections }, () => createConnection({ uri: source.url })));
  const meter = new CpuMeter(
    new Map([
      ['mariadb', () => pidsByName(['mariadbd']).get('mariadbd') ?? []],
      ['bench', () => [process.pid]],
    ]),
  );
  try {
    meter.start();
    const started = process.hrtime.bigint();
    const counts = await Promise.all(connections.map((connection, i) => writeLoad(connection, table, i, perConnection)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { perGroup, machineBusy, otherCores } = meter.stop();
    const statements = counts.reduce((sum, n) => sum + n, 0);
    const [rows] = await source.knex.raw(`SELECT COUNT(*) AS n FROM \`${OUTBOX_TABLE}\``);
    return {
      captured,
      statements,
      seconds,
      perSecond: statements / seconds,
      outboxRows: Number((rows as Array<{ n: number }>)[0].n),
      serverMicrosPerStatement: ((perGroup.get('mariadb') ?? 0) / statements) * 1e6,
      machineBusy,
      otherCores,
    };
  } finally {
    await Promise.all(connections.map((connection) => connection.end()));
  }
}

/**
 * One connection's share of an OLTP-like load, all on its own keys (so rounds
 * never deadlock and the count of statements is exact): in every ten steps,
 * four autocommit single-row INSERTs, three autocommit UPDATEs, one DELETE
 * and two small transactions (a two-row INSERT and an UPDATE). Returns the
 * number of write statements run.
 */
async function writeLoad(connection: Connection, table: string, index: number, statements: number): Promise<number> {
  const random = prng(1000 + index);
  const live: number[] = [];
  let nextId = (index + 1) * 10_000_000;
  let done = 0;
  const pick = () => live[Math.floor(random() * live.length)];
  const newRow = () => {
    const id = ++nextId;
    live.push(id);
    const amount = (random() * 10_000).toFixed(2);
    return [id, id % 7, `item ${id} ✓`, amount, JSON.stringify({ n: id, tag: `t${id % 13}`, r: random() })];
  };
  const t = '`' + table + '`';
  const insert = `INSERT INTO ${t} (id, grp, name, amount, noted, payload) VALUES (?, ?, ?, ?, NOW(6), ?)`;

  for (let step = 0; done < statements; step++) {
    const slot = step % 10;
    if (slot < 4 || live.length === 0) {
      await connection.query(insert, newRow());
      done += 1;
    } else if (slot < 7) {
      await connection.query(`UPDATE ${t} SET amount = amount + ?, name = ?, noted = NOW(6) WHERE id = ?`, [
        (random() * 10).toFixed(2),
        `renamed ${step}`,
        pick(),
      ]);
      done += 1;
    } else if (slot === 7) {
      const at = Math.floor(random() * live.length);
      const [id] = live.splice(at, 1);
      await connection.query(`DELETE FROM ${t} WHERE id = ?`, [id]);
      done += 1;
    } else {
      await connection.query('BEGIN');
      await connection.query(
        `INSERT INTO ${t} (id, grp, name, amount, noted, payload) VALUES (?, ?, ?, ?, NOW(6), ?), (?, ?, ?, ?, NOW(6), ?)`,
        [...newRow(), ...newRow()],
      );
      await connection.query(`UPDATE ${t} SET grp = grp + 1, noted = NOW(6) WHERE id = ?`, [pick()]);
      await connection.query('COMMIT');
      done += 2;
    }
  }
  return done;
}

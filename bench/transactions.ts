import { Connection } from 'mysql2/promise';
import { loadConfig } from '@tributary/config';
import { TableSchema } from '@tributary/model';
import { runTransfers, seedTransfers, TRANSFERS_DDL, TRANSFERS_TABLES } from '@tributary/testing/transfers';
import { BenchDeployment, compareRows, countDeadLetters, createBenchDeployment, RowComparison, rowsEqual, tributaryEnv } from './deployment';
import { waitForDrain } from './drain';
import { formatInt, table } from './format';
import { PacedWriter } from './paced-writer';
import { AppProcess, Cleanup, median, note, noteOutputs, startApp } from './support';
import { createTargetTables } from './target-tables';
import { installVisibilityTriggers, LatencyStats, VisibilityProbe } from './visibility-probe';

/**
 * Transactional targets (issue #15), measured against the same routes
 * without the option, in alternating pairs on fresh deployments: a bank's
 * three tables (transfers between accounts of two tables, each written
 * down in a ledger: one source transaction each) routed into PostgreSQL.
 *
 * - drain: a backlog of `transfers` transactions, from starting one relay
 *   and one worker until all three routes have applied it;
 * - latency: then `rate` transfers/s for `seconds`, each ledger row's
 *   commit at the source → visible at PostgreSQL (VisibilityProbe).
 */
export interface TransactionsOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  transfers: number;
  pairs: number;
  rate: number;
  seconds: number;
  appEnv: Record<string, string>;
  nodeArgs: string[];
  timeoutMs: number;
}

export interface TransactionsRun {
  transactional: boolean;
  /** Outbox rows of the backlog (three per transfer, a few more per rollback-free sweep). */
  changes: number;
  drainSeconds: number;
  latency: LatencyStats;
  achievedRate: number;
  deadLetters: number;
  rows: Record<string, RowComparison>;
}

export interface TransactionsResult {
  options: Pick<TransactionsOptions, 'transfers' | 'pairs' | 'rate' | 'seconds' | 'appEnv'>;
  runs: TransactionsRun[];
  /** Per pair: transactional over per-route, for the drain rate and the latency's p50 and p99. */
  pairs: Array<{ drain: number; p50: number; p99: number }>;
  median: { drain: number; p50: number; p99: number };
}

const TARGET_ID = 'pg';

export async function measureTransactions(options: TransactionsOptions, cleanup: Cleanup): Promise<TransactionsResult> {
  const order = Array.from({ length: options.pairs }, (_, pair) => (pair % 2 === 0 ? [false, true] : [true, false])).flat();
  const runs: TransactionsRun[] = [];
  for (const [i, transactional] of order.entries()) {
    note(`transactions: run ${i + 1} of ${order.length}, ${label(transactional)}`);
    runs.push(await measureRun(options, transactional, cleanup));
  }
  const pairs = Array.from({ length: options.pairs }, (_, pair) => {
    const both = runs.slice(pair * 2, pair * 2 + 2);
    const [off, on] = [false, true].map((transactional) => both.find((run) => run.transactional === transactional)!);
    const rate = (run: TransactionsRun) => run.changes / run.drainSeconds;
    return { drain: rate(on) / rate(off), p50: on.latency.p50 / off.latency.p50, p99: on.latency.p99 / off.latency.p99 };
  });
  return {
    options: { transfers: options.transfers, pairs: options.pairs, rate: options.rate, seconds: options.seconds, appEnv: options.appEnv },
    runs,
    pairs,
    median: { drain: median(pairs.map((p) => p.drain)), p50: median(pairs.map((p) => p.p50)), p99: median(pairs.map((p) => p.p99)) },
  };
}

function label(transactional: boolean): string {
  return transactional ? 'transactional' : 'per route';
}

async function measureRun(options: TransactionsOptions, transactional: boolean, cleanup: Cleanup): Promise<TransactionsRun> {
  const own = new Cleanup();
  cleanup.add(`transactions run (${label(transactional)})`, () => own.run());
  const apps: AppProcess[] = [];
  try {
    const deployment = await createBenchDeployment(options, own);
    const schemas = await setUpBank(deployment, transactional);
    // The probe's trigger needs the ledger's target table before the worker would make it.
    await createTargetTables(deployment.postgres, [{ name: 'ledger', schema: schemas.get('ledger')! }]);
    await installVisibilityTriggers(deployment.postgres, ['ledger']);
    await seedTransfers(deployment.source.url);
    await runTransfers(deployment.source.url, { connections: 4, transactions: options.transfers, sweepEvery: 500 });
    const [rows] = await deployment.source.knex.raw('SELECT COALESCE(MAX(seq), 0) AS m, COUNT(*) AS n FROM _tributary_outbox');
    const { m: maxSeq, n: changes } = (rows as Array<{ m: number; n: number }>)[0];
    note(`transactions: ${formatInt(Number(changes))} changes written; starting a relay and a worker`);

    const env = tributaryEnv(deployment, options.redisUrl, options.appEnv);
    const started = performance.now();
    apps.push(startApp('relay', env, options.nodeArgs, own), startApp('worker', env, options.nodeArgs, own));
    for (const table of TRANSFERS_TABLES) await waitForDrain(deployment.progress, deployment.sourceId, apps, Number(maxSeq), started, options.timeoutMs, routeId(table));
    const drainSeconds = (performance.now() - started) / 1000;

    const probe = await VisibilityProbe.listen(deployment.postgres, own);
    const writer = await PacedWriter.open(deployment.source.url, 4, own);
    const paced = await writer.run({ rate: options.rate, seconds: options.seconds, write: (connection) => transfer(connection, probe) });
    const unseen = await probe.waitForAll({ timeoutMs: 60_000, stallMs: 15_000 });
    if (unseen > 0) note(`transactions: ${unseen} ledger rows never became visible`);
    const compared: Record<string, RowComparison> = {};
    await settle(deployment);
    for (const table of TRANSFERS_TABLES) compared[table] = await compareRows(deployment.source, deployment.postgres, table, table, table === 'ledger' ? 'amount' : 'balance');
    const deadLetters = await countDeadLetters(deployment, TRANSFERS_TABLES.map(routeId));
    await Promise.all(apps.map((app) => app.stop()));
    return { transactional, changes: Number(changes), drainSeconds, latency: probe.stats(), achievedRate: paced.achievedRate, deadLetters, rows: compared };
  } catch (error) {
    noteOutputs(apps);
    throw error;
  } finally {
    await own.run();
  }
}

function routeId(table: string): string {
  return `${table}-pg`;
}

async function setUpBank(deployment: BenchDeployment, transactional: boolean): Promise<Map<string, TableSchema>> {
  const { source, setup, sourceId } = deployment;
  for (const ddl of TRANSFERS_DDL) await source.knex.raw(ddl);
  await setup.addSource(sourceId, source.url);
  const schemas = new Map<string, TableSchema>();
  for (const table of TRANSFERS_TABLES) schemas.set(table, (await setup.captureTable(sourceId, table)).schema);
  await setup.addTarget({ id: TARGET_ID, kind: 'postgres', url: deployment.postgres.url, options: { transactional } });
  for (const table of TRANSFERS_TABLES) {
    await setup.addRoute({ id: routeId(table), sourceId, table, targetId: TARGET_ID, targetTable: table, enabled: true });
  }
  return schemas;
}

/** One transfer as an application writes it; its ledger row's commit is noted for the probe. */
async function transfer(connection: Connection, probe: VisibilityProbe): Promise<void> {
  const [from, to] = [1 + Math.floor(Math.random() * 200), 1 + Math.floor(Math.random() * 200)];
  await connection.query('BEGIN');
  await connection.query('UPDATE checking SET balance = balance - 1, touched = NOW(6) WHERE id = ?', [from]);
  await connection.query('UPDATE savings SET balance = balance + 1 WHERE id = ?', [to]);
  const [inserted] = await connection.query('INSERT INTO ledger (checking_id, savings_id, amount, at) VALUES (?, ?, 1, NOW(6))', [from, to]);
  await connection.query('COMMIT');
  probe.committed('ledger', (inserted as { insertId: number }).insertId);
}

/** Every route has applied what the outbox holds now (the latency phase's last transfers). */
async function settle(deployment: BenchDeployment): Promise<void> {
  const [rows] = await deployment.source.knex.raw('SELECT COALESCE(MAX(seq), 0) AS m FROM _tributary_outbox');
  const maxSeq = Number((rows as Array<{ m: number }>)[0].m);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const progress = await deployment.progress.listProgress(TRANSFERS_TABLES.map(routeId));
    if (progress.length === TRANSFERS_TABLES.length && progress.every((route) => route.watermark >= maxSeq)) return;
    if (Date.now() > deadline) throw new Error(`the routes did not apply through seq ${maxSeq} within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function transactionsVerified(result: TransactionsResult): boolean {
  return result.runs.every((run) => run.deadLetters === 0 && Object.values(run.rows).every(rowsEqual));
}

export function transactionsReport(result: TransactionsResult): string[] {
  const { options, runs } = result;
  const config = loadConfig(options.appEnv);
  const ms = (value: number) => (Number.isNaN(value) ? '?' : value.toFixed(1));
  return [
    `Transactional targets: a bank (checking, savings, ledger; each transfer one source transaction of 3 rows) → PostgreSQL, ` +
      `the target's option transactional off (per route: three routes applied apart) or on (one target transaction per job, across the tables); ` +
      `${runs.length} runs in ${options.pairs} alternating pairs on fresh deployments, one relay and one worker: ` +
      `a backlog of ${formatInt(options.transfers)} transfers drained, then ${options.rate} transfers/s for ${options.seconds} s, ` +
      `each ledger row's commit → visible at PostgreSQL`,
    table(
      ['run', 'variant', 'backlog rows', 'drain (s)', 'rows/s', 'achieved/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'seen / committed', 'verified'],
      runs.map((run, i) => [
        `#${i + 1}`,
        label(run.transactional),
        formatInt(run.changes),
        run.drainSeconds.toFixed(1),
        formatInt(run.changes / run.drainSeconds),
        run.achievedRate.toFixed(0),
        ms(run.latency.p50),
        ms(run.latency.p95),
        ms(run.latency.p99),
        ms(run.latency.max),
        `${run.latency.seen} / ${run.latency.committed}`,
        run.deadLetters === 0 && Object.values(run.rows).every(rowsEqual) ? 'yes' : 'NO',
      ]),
    ),
    table(
      ['pair', 'drain rate on / off', 'p50 on / off', 'p99 on / off'],
      [
        ...result.pairs.map((pair, i) => [String(i + 1), pair.drain.toFixed(2), pair.p50.toFixed(2), pair.p99.toFixed(2)]),
        ['median', result.median.drain.toFixed(2), result.median.p50.toFixed(2), result.median.p99.toFixed(2)],
      ],
    ),
    `settings: WORKER_CONCURRENCY=${config.worker.concurrency} JOB_MAX_ROWS=${config.relay.jobMaxRows} RELAY_BATCH_ROWS=${config.relay.batchRows}`,
  ];
}

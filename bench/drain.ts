import { ProgressRepository } from '@tributary/control';
import { OUTBOX_TABLE } from '@tributary/db';
import { compareRows, cpuGroups, createBenchDeployment } from './deployment';
import { itemsDdl } from './items';
import { CpuMeter, memoryMiB } from './proc';
import { AppName, AppProcess, BenchDatabase, Cleanup, freePort, note, sleep, startApp } from './support';

/**
 * Drain: a backlog written through the capture triggers while no relay runs,
 * then the compiled apps started, timed until the route's durable progress
 * covers every change in the outbox.
 */
export interface DrainOptions {
  mysqlUrl: string;
  postgresUrl: string;
  redisUrl: string;
  /** Rows inserted; then two thirds of them updated and a twelfth deleted (default 120k → 210k changes). */
  inserts: number;
  /** `split`: relay and worker processes (as deployed); `allinone`: the single `tributary` process. */
  apps: 'split' | 'allinone';
  /** Tributary settings for the apps (RELAY_BATCH_ROWS, JOB_MAX_ROWS, ...), on top of the defaults. */
  appEnv: Record<string, string>;
  /** Extra node flags for the apps, e.g. --prof to find where their time goes. */
  nodeArgs: string[];
  /**
   * Run ANALYZE on the target every so many seconds during the drain, as
   * autovacuum's autoanalyze would (null: never). For servers that run with
   * autovacuum off, where the target's planner statistics never appear.
   */
  pgAnalyzeSeconds: number | null;
  timeoutMs: number;
}

export interface DrainResult {
  backlog: { inserts: number; updates: number; deletes: number; changes: number; maxSeq: number; writeSeconds: number };
  /** From starting the apps until the route's watermark reached the outbox's max seq. */
  seconds: number;
  /** When the route first moved, from the same start (process start-up, first poll, first batch), and where it was then. */
  firstProgressAt: number;
  firstProgressSeq: number;
  /** When the relay had read and enqueued the whole backlog. */
  relayDoneAt: number | null;
  peakRssMiB: Record<string, number | null>;
  /** CPU seconds per component over the drain, and the machine's busy share (1 = both cores busy). */
  cpu: Record<string, number>;
  machineBusy: number;
  /** Cores used by processes outside the pipeline and the bench during the drain: the noise. */
  otherCores: number;
  appliedTotal: number;
  deadLetters: number;
  rows: { source: number; target: number; sourceSum: string; targetSum: string };
}

const TARGET_ID = 'pg';
const ROUTE_ID = 'items-pg';
const TABLE = 'items';
const WRITE_CHUNK = 10_000;

export async function measureDrain(options: DrainOptions, cleanup: Cleanup): Promise<DrainResult> {
  const { control, source, postgres, prefix, sourceId, progress, setup } = await createBenchDeployment(options, cleanup);

  // The route must exist before the backlog: a route created later starts at the relay's
  // watermark (CatalogRepository.upsertRoute), and with no relay state yet that is 0.
  await source.knex.raw(itemsDdl(TABLE));
  await setup.addSource(sourceId, source.url);
  await setup.captureTable(sourceId, TABLE);
  await setup.addTarget({ id: TARGET_ID, kind: 'postgres', url: postgres.url, options: {} });
  await setup.addRoute({ id: ROUTE_ID, sourceId, table: TABLE, targetId: TARGET_ID, targetTable: TABLE, enabled: true });

  const backlog = await writeBacklog(source, options.inserts);
  note(`backlog: ${backlog.changes} changes written in ${backlog.writeSeconds.toFixed(1)} s; starting the apps`);

  const env: Record<string, string> = {
    CONTROL_DATABASE_URL: control.url,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ...options.appEnv,
  };
  const names: AppName[] = options.apps === 'split' ? ['relay', 'worker'] : ['tributary'];
  if (options.apps === 'allinone') env.ADMIN_PORT = String(await freePort());

  const apps: AppProcess[] = [];
  const meter = new CpuMeter(cpuGroups(apps));
  meter.start();
  const started = performance.now();
  for (const name of names) apps.push(startApp(name, env, options.nodeArgs, cleanup));

  const stopAnalyzing = analyzePeriodically(postgres, options.pgAnalyzeSeconds);
  try {
    const timing = await waitForDrain(progress, sourceId, apps, backlog.maxSeq, started, options.timeoutMs);
    const seconds = (performance.now() - started) / 1000;
    // Read while the processes still live: /proc forgets them once they exit.
    const peakRssMiB = Object.fromEntries(apps.map((app) => [app.name, memoryMiB(app.pid, 'VmHWM')]));
    const { perGroup, machineBusy, otherCores } = meter.stop();
    // The bench's own polling is metered only so that it is not counted as noise; it is not a component.
    perGroup.delete('bench');
    await Promise.all(apps.map((app) => app.stop()));

    const [route] = await progress.listProgress([ROUTE_ID]);
    const [letters] = await control.knex.raw('SELECT COUNT(*) AS n FROM tributary_dead_letters WHERE route_id = ?', [ROUTE_ID]);
    return {
      backlog,
      seconds,
      ...timing,
      peakRssMiB,
      cpu: Object.fromEntries(perGroup),
      machineBusy,
      otherCores,
      appliedTotal: route.appliedTotal,
      deadLetters: Number((letters as Array<{ n: number }>)[0].n),
      rows: await compareRows(source, postgres, TABLE),
    };
  } catch (error) {
    for (const app of apps) if (app.output()) note(`--- ${app.name} output:\n${app.output()}`);
    throw error;
  } finally {
    await stopAnalyzing();
  }
}

/** Starts the ANALYZE loop (see DrainOptions.pgAnalyzeSeconds); the returned function stops it and waits for it. */
function analyzePeriodically(postgres: BenchDatabase, everySeconds: number | null): () => Promise<void> {
  if (everySeconds === null) return async () => undefined;
  let stopped = false;
  const loop = (async () => {
    let last = performance.now();
    while (!stopped) {
      await sleep(100);
      if (stopped || performance.now() - last < everySeconds * 1000) continue;
      last = performance.now();
      await postgres.knex.raw('ANALYZE').catch((error: Error) => note(`ANALYZE failed: ${error.message}`));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/**
 * Writes the backlog through the triggers with set-based statements (one
 * outbox row per row changed): inserts from MariaDB's SEQUENCE engine, then
 * updates and deletes by key range, in chunks so no transaction is huge.
 * Writes table `items` (itemsDdl); 1.75 changes per insert.
 */
export async function writeBacklog(source: BenchDatabase, inserts: number): Promise<DrainResult['backlog']> {
  const updates = Math.floor((inserts * 2) / 3);
  const deletes = Math.floor(inserts / 12);
  const started = performance.now();
  for (const [from, to] of chunks(1, inserts)) {
    await source.knex.raw(
      `INSERT INTO ${TABLE} (id, grp, name, amount, noted, payload)
       SELECT seq, seq % 7, CONCAT('item ', seq, ' ✓'), ROUND(seq * 0.37, 2), NOW(6), JSON_OBJECT('n', seq, 'tag', CONCAT('t', seq % 13))
         FROM seq_${from}_to_${to}`,
    );
  }
  for (const [from, to] of chunks(1, updates)) {
    await source.knex.raw(`UPDATE ${TABLE} SET amount = amount + 1.25, name = CONCAT(name, '+'), noted = NOW(6) WHERE id BETWEEN ? AND ?`, [from, to]);
  }
  for (const [from, to] of chunks(inserts - deletes + 1, inserts)) {
    await source.knex.raw(`DELETE FROM ${TABLE} WHERE id BETWEEN ? AND ?`, [from, to]);
  }
  const writeSeconds = (performance.now() - started) / 1000;
  const [rows] = await source.knex.raw(`SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS m FROM \`${OUTBOX_TABLE}\``);
  const { n, m } = (rows as Array<{ n: number; m: number }>)[0];
  return { inserts, updates, deletes, changes: Number(n), maxSeq: Number(m), writeSeconds };
}

function chunks(from: number, to: number): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  for (let start = from; start <= to; start += WRITE_CHUNK) result.push([start, Math.min(to, start + WRITE_CHUNK - 1)]);
  return result;
}

/** Polls the control schema until the route has durably applied through `maxSeq`; fails fast if an app dies. */
async function waitForDrain(
  progress: ProgressRepository,
  sourceId: string,
  apps: readonly AppProcess[],
  maxSeq: number,
  started: number,
  timeoutMs: number,
): Promise<{ firstProgressAt: number; firstProgressSeq: number; relayDoneAt: number | null }> {
  let firstProgressAt = Number.NaN;
  let firstProgressSeq = 0;
  let relayDoneAt: number | null = null;
  let reportedAt = 0;
  for (;;) {
    const elapsed = (performance.now() - started) / 1000;
    const dead = apps.find((app) => app.exited());
    if (dead) throw new Error(`${dead.name} exited during the drain`);
    const [route] = await progress.listProgress([ROUTE_ID]);
    const relay = await progress.loadRelayState(sourceId);
    const applied = route?.watermark ?? 0;
    if (applied > 0 && Number.isNaN(firstProgressAt)) {
      firstProgressAt = elapsed;
      firstProgressSeq = applied;
    }
    if (relayDoneAt === null && relay && relay.watermark >= maxSeq) relayDoneAt = elapsed;
    if (applied >= maxSeq) return { firstProgressAt, firstProgressSeq, relayDoneAt };
    if (elapsed - reportedAt >= 5) {
      reportedAt = elapsed;
      note(`drain t=${elapsed.toFixed(0)}s: relay at ${relay?.watermark ?? 0}, route at ${applied} of ${maxSeq}`);
    }
    if (elapsed * 1000 > timeoutMs) throw new Error(`drain did not finish in ${timeoutMs} ms (route at ${applied} of ${maxSeq})`);
    await sleep(100);
  }
}

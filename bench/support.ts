import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import knexFactory, { Knex } from 'knex';
import { openMysql } from '@tributary/control';
import { deleteKeysWithPrefix } from '@tributary/queue';
import { AppName, appEntry } from '@tributary/testing/app-entry';

/**
 * Small helpers for the benchmark. libs/testing has near-identical ones, but
 * it is left out of the build (it is test-only code), so the bench keeps its
 * own few lines instead of pulling the test tree into dist/. Files of it that
 * stand alone (freePort, the TCP proxy) are imported by path instead: the
 * build then compiles just those.
 */

/** The repository root, from dist/bench/ (compiled) — the apps are started from dist/apps/. */
export const ROOT = join(__dirname, '..', '..');

/** A name no other run uses: prefix + time + random. Lowercase, identifier-safe. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`.toLowerCase();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Nearest-rank percentiles and the maximum, in the unit of the values (ms for latencies); NaN for none. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  if (values.length === 0) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return { p50: rank(0.5), p95: rank(0.95), p99: rank(0.99), max: sorted[sorted.length - 1] };
}

/** Changes per second of a drain after its first applied batch (start-up left out); NaN if that was the end. */
export function steadyRate(seconds: number, firstProgressAt: number, firstProgressSeq: number, maxSeq: number): number {
  const steadySeconds = seconds - firstProgressAt;
  return steadySeconds > 0 ? (maxSeq - firstProgressSeq) / steadySeconds : Number.NaN;
}

/** Progress notes go to stderr, so stdout carries only the summary. */
export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Everything a run creates registers its undo here; `run` undoes it all in
 * reverse order, each step on its own, so one failed drop does not leave the
 * rest behind. Runs are chained: a Ctrl+C during the normal cleanup waits
 * for the step in flight instead of exiting halfway through a DROP.
 */
export class Cleanup {
  private readonly steps: Array<{ what: string; undo: () => Promise<unknown> }> = [];
  private chain: Promise<void> = Promise.resolve();

  add(what: string, undo: () => Promise<unknown>): void {
    this.steps.push({ what, undo });
  }

  run(): Promise<void> {
    this.chain = this.chain.then(() => this.undoAll());
    return this.chain;
  }

  private async undoAll(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.undo();
      } catch (error) {
        note(`cleanup of ${step.what} failed: ${(error as Error).message}`);
      }
    }
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  knex: Knex;
}

/** A fresh MariaDB database; dropped by `cleanup`. The pool uses Tributary's session settings (openMysql). */
export async function createMysqlDatabase(serverUrl: string, prefix: string, cleanup: Cleanup): Promise<BenchDatabase> {
  const name = uniqueName(prefix);
  await onServer(knexFactory({ client: 'mysql2', connection: serverUrl }), `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const url = `${serverUrl}/${name}`;
  const knex = openMysql(url, { min: 0, max: 4 });
  cleanup.add(`database ${name}`, async () => {
    await knex.destroy();
    await onServer(knexFactory({ client: 'mysql2', connection: serverUrl }), `DROP DATABASE IF EXISTS \`${name}\``);
  });
  return { name, url, knex };
}

/** A fresh PostgreSQL database; dropped (with its connections) by `cleanup`. */
export async function createPostgresDatabase(serverUrl: string, prefix: string, cleanup: Cleanup): Promise<BenchDatabase> {
  const name = uniqueName(prefix);
  const admin = () => knexFactory({ client: 'pg', connection: `${serverUrl}/postgres` });
  await onServer(admin(), `CREATE DATABASE "${name}"`);
  const url = `${serverUrl}/${name}`;
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
  cleanup.add(`database ${name}`, async () => {
    await knex.destroy();
    await onServer(admin(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
  return { name, url, knex };
}

async function onServer(knex: Knex, sql: string): Promise<void> {
  try {
    await knex.raw(sql);
  } finally {
    await knex.destroy();
  }
}

/** Registers the removal of every Redis key under `prefix:` (BullMQ queues, the relay marker). */
export function cleanRedisPrefix(url: string, prefix: string, cleanup: Cleanup): void {
  cleanup.add(`redis keys ${prefix}:*`, () => deleteKeysWithPrefix(url, prefix));
}

/** A compiled Tributary app (appEntry), or another bench script, running as a child process. */
export interface AppProcess {
  readonly name: string;
  readonly pid: number;
  /** The last 20 kB it logged, for a failure message. */
  output(): string;
  /** True once the process has exited (for whatever reason). */
  exited(): boolean;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export type { AppName };

/** The node flags the apps run with in package.json's start scripts and the Docker image (NODE_OPTIONS). */
export const APP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

/**
 * Starts an app as users run it (APP_NODE_FLAGS) with exactly `env` (plus
 * PATH); `nodeArgs` go before the script (e.g. --cpu-prof). Stopped by `cleanup`.
 */
export function startApp(app: AppName, env: Record<string, string>, nodeArgs: readonly string[], cleanup: Cleanup): AppProcess {
  return startScript(app, appEntry(ROOT, app), env, [...APP_NODE_FLAGS, ...nodeArgs], cleanup);
}

/** Any compiled script (e.g. the minimal pipeline's, under dist/bench/) as a child process, like startApp. */
export function startScript(name: string, script: string, env: Record<string, string>, nodeArgs: readonly string[], cleanup: Cleanup): AppProcess {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const isDone = () => child.exitCode !== null || child.signalCode !== null;
  const handle: AppProcess = {
    name,
    pid: child.pid,
    output: () => log,
    exited: isDone,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!isDone()) child.kill(signal);
      // A graceful stop finishes the current batch; past that, kill it.
      const timeout = sleep(10_000).then(() => {
        if (!isDone()) child.kill('SIGKILL');
      });
      await Promise.race([exit, timeout]);
      await exit;
    },
  };
  cleanup.add(`process ${name} (${child.pid})`, () => handle.stop('SIGKILL'));
  return handle;
}

/** Notes what each app logged: after a failure, the likely reason. */
export function noteOutputs(apps: readonly AppProcess[]): void {
  for (const app of apps) if (app.output()) note(`--- ${app.name} output:\n${app.output()}`);
}

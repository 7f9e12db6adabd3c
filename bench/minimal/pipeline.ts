import { join } from 'node:path';
import { AppProcess, BenchDatabase, Cleanup, cleanRedisPrefix, createPostgresDatabase, startScript, uniqueName } from '../support';
import { MINIMAL_TARGET_DDL, MinimalEnv } from './contract';

/** Names the minimal pipeline's processes run under (for CPU groups and messages). */
export const MINIMAL_APP_NAMES = ['minimal-relay', 'minimal-worker'] as const;

/** The minimal pipeline's target: its own PostgreSQL database, the table already created. */
export async function createMinimalTarget(postgresUrl: string, cleanup: Cleanup): Promise<BenchDatabase> {
  const target = await createPostgresDatabase(postgresUrl, 'trib_bench_min', cleanup);
  for (const ddl of MINIMAL_TARGET_DDL) await target.knex.raw(ddl);
  return target;
}

export interface MinimalPipelineOptions {
  /** Source database: the pipeline reads its `_tributary_outbox` from seq 1 on. */
  source: BenchDatabase;
  /** From createMinimalTarget. */
  target: BenchDatabase;
  redisUrl: string;
  /** Most changes per job. */
  jobRows: number;
  /** Extra node flags, as for Tributary's apps. */
  nodeArgs: readonly string[];
}

/**
 * Starts the minimal relay and worker (compiled, dist/bench/minimal/) under a
 * Redis prefix of their own; `cleanup` stops them and removes the keys.
 */
export function startMinimalPipeline(options: MinimalPipelineOptions, cleanup: Cleanup): AppProcess[] {
  const prefix = uniqueName('trib_bench_min');
  cleanRedisPrefix(options.redisUrl, prefix, cleanup);
  const env: MinimalEnv = {
    MINIMAL_MYSQL_URL: options.source.url,
    MINIMAL_POSTGRES_URL: options.target.url,
    REDIS_URL: options.redisUrl,
    MINIMAL_PREFIX: prefix,
    MINIMAL_JOB_ROWS: String(options.jobRows),
  };
  const [relay, worker] = MINIMAL_APP_NAMES;
  return [
    startScript(relay, join(__dirname, 'relay.js'), { ...env }, options.nodeArgs, cleanup),
    startScript(worker, join(__dirname, 'worker.js'), { ...env }, options.nodeArgs, cleanup),
  ];
}

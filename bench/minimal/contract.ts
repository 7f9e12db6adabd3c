/**
 * What the minimal pipeline's two processes and the bench agree on: the
 * queue, the job, the environment, and the target table. Kept free of
 * Tributary's libraries, so the baseline measures BullMQ, the drivers and
 * the databases, not our code.
 */

/** The one BullMQ queue (under the pipeline's own prefix). */
export const MINIMAL_QUEUE = 'minimal';

/** A job: the outbox rows with from <= seq <= to. The worker reads them itself; Redis never holds a row. */
export interface RangeJob {
  from: number;
  to: number;
}

/** Environment of both processes. */
export interface MinimalEnv {
  /** The source database, whose `_tributary_outbox` the pipeline reads. */
  MINIMAL_MYSQL_URL: string;
  /** The pipeline's own PostgreSQL database (the worker's target). */
  MINIMAL_POSTGRES_URL: string;
  REDIS_URL: string;
  /** BullMQ prefix: the pipeline's keys, apart from Tributary's. */
  MINIMAL_PREFIX: string;
  /** Most changes in one job (one target statement). */
  MINIMAL_JOB_ROWS: string;
}

/** Reads MinimalEnv from the process environment; a missing variable ends the process at start. */
export function readMinimalEnv(env: NodeJS.ProcessEnv): MinimalEnv {
  const value = (name: keyof MinimalEnv): string => {
    const found = env[name];
    if (!found) throw new Error(`missing environment variable ${name}`);
    return found;
  };
  return {
    MINIMAL_MYSQL_URL: value('MINIMAL_MYSQL_URL'),
    MINIMAL_POSTGRES_URL: value('MINIMAL_POSTGRES_URL'),
    REDIS_URL: value('REDIS_URL'),
    MINIMAL_PREFIX: value('MINIMAL_PREFIX'),
    MINIMAL_JOB_ROWS: value('MINIMAL_JOB_ROWS'),
  };
}

/** The target table: the bench's items columns, plus the per-row guard (`_seq`) and a tombstone flag. */
export const MINIMAL_TABLE = 'items';
/** The live rows (tombstones left out): what is compared with the source. */
export const MINIMAL_LIVE_VIEW = 'items_live';

/**
 * Created by the bench before the processes start, so the worker is nothing
 * but its apply loop. Tombstones rather than DELETE: a delete keeps its seq,
 * so a change older than it can never bring the row back (invariant 4, as
 * Tributary keeps it in `_tributary_rows`).
 */
export const MINIMAL_TARGET_DDL = [
  `CREATE TABLE ${MINIMAL_TABLE} (
    id integer PRIMARY KEY,
    grp integer,
    name varchar(64),
    amount numeric(12,2),
    noted timestamp(6),
    payload jsonb,
    _seq bigint NOT NULL,
    _deleted boolean NOT NULL
  )`,
  `CREATE VIEW ${MINIMAL_LIVE_VIEW} AS SELECT id, grp, name, amount, noted, payload FROM ${MINIMAL_TABLE} WHERE NOT _deleted`,
];

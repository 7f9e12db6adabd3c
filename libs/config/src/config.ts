import { resolve } from 'node:path';
import { z } from 'zod';
import { parseRedisLocation } from './redis-location';

/**
 * Every setting Tributary reads from the environment, validated once.
 * Nothing else reads process.env (STYLE.md, after immich).
 */
const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const port = (fallback: number, min = 0) => z.coerce.number().int().min(min).max(65535).default(fallback);

const schema = z.object({
  CONTROL_DATABASE_URL: z.string().url().default('mysql://root@127.0.0.1:3306/tributary'),
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((url, context) => {
      try {
        parseRedisLocation(url);
      } catch (error) {
        context.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
      }
    }),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ or -')
    .default('tributary'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  ADMIN_HOST: z.string().default('127.0.0.1'),
  ADMIN_TRUST_PROXY: z.string().min(1).optional(),
  ADMIN_PORT: port(3000, 1),
  ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  RELAY_HTTP_PORT: port(3001),
  WORKER_HTTP_PORT: port(3002),

  RELAY_BATCH_ROWS: int(20_000, 1),
  RELAY_POLL_MIN_MS: int(5),
  RELAY_POLL_MAX_MS: int(200, 1),
  RELAY_HOLE_CLOSE_DELAY_MS: int(50, 1),
  RELAY_HOLE_TIMEOUT_MS: int(15 * 60_000, 1000),
  RELAY_LEADER_RETRY_MS: int(2000, 10),
  RELAY_HEARTBEAT_MS: int(1000, 10),
  JOB_MAX_ROWS: int(1000, 1),
  JOB_MAX_BYTES: int(1 << 20, 1024),

  OUTBOX_RETENTION_MS: int(60 * 60_000),
  OUTBOX_PURGE_INTERVAL_MS: int(10_000, 100),
  OUTBOX_PURGE_CHUNK_ROWS: int(1000, 1),

  CONFLICT_RESOLVERS_DIR: z.string().min(1).optional(),
  SQLITE_DIR: z.string().min(1).optional(),
  HTTP_TARGET_HOSTS: z.string().optional(),
  SNAPSHOT_CHUNK_ROWS: int(2000, 10),
  SNAPSHOT_MAX_IN_FLIGHT_ROWS: int(50_000, 100),

  WORKER_RETRY_MIN_MS: int(200, 1),
  WORKER_RETRY_MAX_MS: int(5_000, 1),
  WORKER_CONCURRENCY: int(32, 1),
  CONFIG_REFRESH_MS: int(2000, 10),
  CAPTURE_DRIFT_CHECK_MS: int(10_000, 100),
});

export type Env = z.infer<typeof schema>;

export interface TributaryConfig {
  controlDatabaseUrl: string;
  redis: { url: string; prefix: string };
  logLevel: Env['LOG_LEVEL'];
  /**
   * trustProxy: express's `trust proxy` (ADMIN_TRUST_PROXY: hops as a number, or addresses/subnets
   * such as `loopback`, `10.0.0.0/8`); null: none. Behind a TLS proxy it makes the session cookie
   * Secure and counts wrong tokens per client, not per proxy.
   */
  admin: { host: string; port: number; token: string | undefined; trustProxy: number | string | null };
  relay: {
    /** Outbox row headers (seq, table, origin) read per poll. */
    batchRows: number;
    pollMinMs: number;
    pollMaxMs: number;
    holeCloseDelayMs: number;
    holeTimeoutMs: number;
    leaderRetryMs: number;
    heartbeatMs: number;
    /** Rows and bytes at most in one target transaction (and in one dead-letter retry job). */
    jobMaxRows: number;
    jobMaxBytes: number;
  };
  outbox: { retentionMs: number; purgeIntervalMs: number; purgeChunkRows: number };
  /** concurrency: jobs one worker process applies at once per source (each is one route's; a route's own jobs never overlap). */
  worker: { retryMinMs: number; retryMaxMs: number; concurrency: number };
  /**
   * Initial copies and re-syncs: rows locked and copied per chunk, and copy
   * records a route may have not yet applied before the copier waits for it.
   */
  snapshot: { chunkRows: number; maxInFlightRows: number };
  /**
   * Where the worker loads custom conflict resolvers from (a route names one
   * by module name, never by path); unset: custom resolvers are unavailable.
   */
  conflictResolversDir: string | null;
  /**
   * What a target may point at: SQLite files only inside sqliteDir (SQLITE_DIR, default the working
   * directory); webhooks only at httpHosts (HTTP_TARGET_HOSTS, comma-separated; unset: any host).
   */
  targets: { sqliteDir: string; httpHosts: string[] | null };
  /** Ports of the relay's and the worker's /health and /metrics, on admin.host (0: any free port). */
  httpPorts: { relay: number; worker: number };
  configRefreshMs: number;
  /** How often the relay compares captured tables with their triggers. */
  driftCheckMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses an environment (process.env by default) into the typed config, or throws naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): TributaryConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    controlDatabaseUrl: e.CONTROL_DATABASE_URL,
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    logLevel: e.LOG_LEVEL,
    admin: { host: e.ADMIN_HOST, port: e.ADMIN_PORT, token: e.ADMIN_TOKEN, trustProxy: trustProxy(e.ADMIN_TRUST_PROXY) },
    relay: {
      batchRows: e.RELAY_BATCH_ROWS,
      pollMinMs: e.RELAY_POLL_MIN_MS,
      pollMaxMs: e.RELAY_POLL_MAX_MS,
      holeCloseDelayMs: e.RELAY_HOLE_CLOSE_DELAY_MS,
      holeTimeoutMs: e.RELAY_HOLE_TIMEOUT_MS,
      leaderRetryMs: e.RELAY_LEADER_RETRY_MS,
      heartbeatMs: e.RELAY_HEARTBEAT_MS,
      jobMaxRows: e.JOB_MAX_ROWS,
      jobMaxBytes: e.JOB_MAX_BYTES,
    },
    outbox: {
      retentionMs: e.OUTBOX_RETENTION_MS,
      purgeIntervalMs: e.OUTBOX_PURGE_INTERVAL_MS,
      purgeChunkRows: e.OUTBOX_PURGE_CHUNK_ROWS,
    },
    worker: { retryMinMs: e.WORKER_RETRY_MIN_MS, retryMaxMs: e.WORKER_RETRY_MAX_MS, concurrency: e.WORKER_CONCURRENCY },
    snapshot: { chunkRows: e.SNAPSHOT_CHUNK_ROWS, maxInFlightRows: e.SNAPSHOT_MAX_IN_FLIGHT_ROWS },
    conflictResolversDir: e.CONFLICT_RESOLVERS_DIR ?? null,
    // Resolved once: every process of a deployment must agree on it whatever its working directory.
    targets: { sqliteDir: resolve(e.SQLITE_DIR ?? process.cwd()), httpHosts: hostList(e.HTTP_TARGET_HOSTS) },
    httpPorts: { relay: e.RELAY_HTTP_PORT, worker: e.WORKER_HTTP_PORT },
    configRefreshMs: e.CONFIG_REFRESH_MS,
    driftCheckMs: e.CAPTURE_DRIFT_CHECK_MS,
  };
}

/** A comma-separated host list (`host` or `host:port`), or null when unset. */
function hostList(text: string | undefined): string[] | null {
  if (text === undefined) return null;
  return text
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host.length > 0);
}

/** ADMIN_TRUST_PROXY as express takes it: a hop count, or a list of trusted addresses. */
function trustProxy(text: string | undefined): number | string | null {
  if (text === undefined) return null;
  return /^\d+$/.test(text) ? Number(text) : text;
}

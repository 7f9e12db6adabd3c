import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import IORedis from 'ioredis';
import knexFactory from 'knex';

/** What the numbers came from: printed with them, and copied into docs/benchmarks.md. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  mariadb: string;
  postgres: string;
  redis: string;
  /** Server settings that move the numbers: durability of each commit, caches, PostgreSQL's autovacuum (statistics). */
  settings: string;
  /** 1-minute load average when the bench started: a busy machine makes every number lower. */
  loadAtStart: number;
}

export async function describeMachine(urls: { mysql: string; postgres: string; redis: string }): Promise<MachineInfo> {
  const mariadb = await firstRow(
    'mysql2',
    urls.mysql,
    'SELECT VERSION() AS version, @@innodb_flush_log_at_trx_commit AS flush, CONCAT(@@innodb_buffer_pool_size DIV 1048576, "M") AS pool',
  );
  const postgres = await firstRow(
    'pg',
    `${urls.postgres}/postgres`,
    `SELECT current_setting('server_version') AS version, current_setting('autovacuum') AS autovacuum,
            current_setting('shared_buffers') AS buffers, current_setting('synchronous_commit') AS sync`,
  );
  return {
    cores: cpus().length,
    cpuModel: cpuModel(),
    memoryGiB: totalmem() / 2 ** 30,
    node: process.version,
    mariadb: mariadb.version,
    postgres: postgres.version,
    redis: await redisVersion(urls.redis),
    settings:
      `MariaDB innodb_flush_log_at_trx_commit=${mariadb.flush} innodb_buffer_pool_size=${mariadb.pool}; ` +
      `PostgreSQL autovacuum=${postgres.autovacuum} shared_buffers=${postgres.buffers} synchronous_commit=${postgres.sync}`,
    loadAtStart: loadavg()[0],
  };
}

function cpuModel(): string {
  const match = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
  return match ? match[1].trim() : (cpus()[0]?.model ?? 'unknown');
}

/** The first row of a query, as text. The bench needs these servers anyway: an error ends it here. */
async function firstRow(client: 'mysql2' | 'pg', url: string, sql: string): Promise<Record<string, string>> {
  const knex = knexFactory({ client, connection: url });
  try {
    const result: unknown = await knex.raw(sql);
    // mysql2 returns [rows, fields]; pg returns { rows }.
    const rows = Array.isArray(result) ? (result[0] as Array<Record<string, unknown>>) : (result as { rows: Array<Record<string, unknown>> }).rows;
    return Object.fromEntries(Object.entries(rows[0]).map(([name, value]) => [name, String(value)]));
  } finally {
    await knex.destroy();
  }
}

async function redisVersion(url: string): Promise<string> {
  const redis = new IORedis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return info.match(/^redis_version:(.+)$/m)?.[1].trim() ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

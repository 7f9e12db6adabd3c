import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
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
}

export async function describeMachine(urls: { mysql: string; postgres: string; redis: string }): Promise<MachineInfo> {
  return {
    cores: cpus().length,
    cpuModel: cpuModel(),
    memoryGiB: totalmem() / 2 ** 30,
    node: process.version,
    mariadb: await sqlVersion('mysql2', urls.mysql, 'SELECT VERSION() AS v'),
    postgres: await sqlVersion('pg', `${urls.postgres}/postgres`, "SELECT current_setting('server_version') AS v"),
    redis: await redisVersion(urls.redis),
  };
}

function cpuModel(): string {
  const match = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
  return match ? match[1].trim() : (cpus()[0]?.model ?? 'unknown');
}

async function sqlVersion(client: 'mysql2' | 'pg', url: string, sql: string): Promise<string> {
  const knex = knexFactory({ client, connection: url });
  try {
    const result: unknown = await knex.raw(sql);
    // mysql2 returns [rows, fields]; pg returns { rows }.
    const rows = Array.isArray(result) ? (result[0] as Array<{ v: string }>) : (result as { rows: Array<{ v: string }> }).rows;
    return rows[0].v;
  } catch (error) {
    return `unknown (${(error as Error).message})`;
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
  } catch (error) {
    return `unknown (${(error as Error).message})`;
  } finally {
    redis.disconnect();
  }
}

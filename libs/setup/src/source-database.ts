import { Knex } from 'knex';
import { openMysql, SourceRecord } from '@tributary/control';
import { quoteMysql } from '@tributary/model';
import { InvalidInputError, reasonOf, UnavailableError } from './errors';
import { scrub, secretsOf } from './secrets';

/** A database name as MySQL and our quoting accept it. */
const DATABASE_NAME = /^[A-Za-z0-9_$]{1,64}$/;

/**
 * Query parameters a source URL may carry. mysql2 turns every query
 * parameter into a connection option (multipleStatements, local file
 * loading...), so only these harmless ones are let through.
 */
const SOURCE_URL_OPTIONS = ['ssl', 'connectTimeout', 'charset'];
const MAX_CONNECT_TIMEOUT_MS = 60_000;

/**
 * Checks a source URL before anything connects with it: mysql:// or
 * mariadb://, naming the database to capture from, no unknown options.
 * Messages never repeat the URL (it may hold a password).
 *
 * @returns where it points, `host:port/database`, to spot two sources on one database.
 * @throws InvalidInputError in field `url`.
 */
export function checkSourceUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError('url is not a valid URL (expected mysql://user:password@host:3306/database)', 'url');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new InvalidInputError(`url must start with mysql:// or mariadb://, not ${parsed.protocol}//`, 'url');
  }
  const database = safeDecode(parsed.pathname.replace(/^\//, ''));
  if (!DATABASE_NAME.test(database)) {
    throw new InvalidInputError('url must name the database to capture from (letters, digits, _ or $), e.g. mysql://user:password@host:3306/shop', 'url');
  }
  for (const [name, value] of parsed.searchParams) {
    if (!SOURCE_URL_OPTIONS.includes(name)) {
      throw new InvalidInputError(`url option ${JSON.stringify(name)} is not supported (supported: ${SOURCE_URL_OPTIONS.join(', ')})`, 'url');
    }
    // A long connect timeout holds every request that checks the source (and the relay's start) that long.
    if (name === 'connectTimeout' && !(/^\d{1,6}$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_CONNECT_TIMEOUT_MS)) {
      throw new InvalidInputError(`url option connectTimeout must be a number of milliseconds from 1 to ${MAX_CONNECT_TIMEOUT_MS}`, 'url');
    }
  }
  return `${parsed.hostname.toLowerCase()}:${parsed.port || '3306'}/${database}`;
}

/**
 * Opens a small pool on a source and proves the database answers.
 *
 * @param unreachable builds the error thrown when it does not, from the driver's reason (password scrubbed).
 */
export async function openSourceDatabase(url: string, unreachable: (reason: string) => Error, max = 2): Promise<Knex> {
  const knex = openMysql(url, { min: 0, max });
  try {
    await knex.raw('SELECT 1');
    return knex;
  } catch (error) {
    await knex.destroy();
    throw unreachable(scrub(reasonOf(error), secretsOf(url)));
  }
}

/** Runs `work` on a configured source's database, reporting a source that does not answer as UnavailableError. */
export async function withSource<T>(source: SourceRecord, work: (knex: Knex) => Promise<T>): Promise<T> {
  const knex = await openSourceDatabase(source.url, (reason) => new UnavailableError(`source ${source.id} is unreachable: ${reason}`));
  try {
    return await work(knex);
  } finally {
    await knex.destroy();
  }
}

/** Whether the source database has a table (or view) of exactly this name. */
export async function tableExists(knex: Knex, table: string): Promise<boolean> {
  const [rows] = (await knex.raw('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [
    table,
  ])) as [Array<{ name: string }>];
  // information_schema may compare without regard to case; table names do not.
  return rows.some((row) => row.name === table);
}

/** Below this estimate the rows are counted exactly (cheap); above, InnoDB's estimate is good enough to say "about". */
const EXACT_COUNT_BELOW = 200_000;

/** How many rows a source table has: exact when small, InnoDB's estimate when large. */
export async function countRows(knex: Knex, table: string): Promise<{ rows: number; exact: boolean }> {
  const [estimated] = (await knex.raw(
    'SELECT TABLE_NAME AS name, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  )) as [Array<{ name: string; n: number | string | null }>];
  const estimate = Number(estimated.find((row) => row.name === table)?.n ?? 0);
  if (estimate >= EXACT_COUNT_BELOW) return { rows: estimate, exact: false };
  const [counted] = (await knex.raw(`SELECT COUNT(*) AS n FROM ${quoteMysql(table)}`)) as [Array<{ n: number | string }>];
  return { rows: Number(counted[0].n), exact: true };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

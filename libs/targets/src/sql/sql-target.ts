import { Knex } from 'knex';
import { redactUrl } from '@tributary/config';
import { TargetUrlError } from '../errors';
import { integerOption, OPTION_BOUNDS, parseTargetOptions, targetOptions, TRANSACTIONAL_OPTION } from '../option-bounds';

/**
 * Connection plumbing both SQL targets share: options, URL checks, the knex
 * pool. Not a base class; each target composes what it needs.
 */

/** Options a SQL target reads from TargetConnection.options; all optional. */
export interface SqlTargetOptions {
  /** Connections in the target's pool (default 4). */
  poolMax: number;
  /** How long apply/ping wait for a pooled connection before failing as transient (default 10 s). */
  acquireTimeoutMs: number;
  /** TCP connect timeout for a new connection (default 10 s). */
  connectTimeoutMs: number;
  /** All of a source transaction's changes in one target transaction (TRANSACTIONAL_OPTION). */
  transactional: boolean;
}

const SQL_OPTIONS = targetOptions({
  poolMax: integerOption('poolMax', OPTION_BOUNDS.poolMax).default(4),
  acquireTimeoutMs: integerOption('acquireTimeoutMs', OPTION_BOUNDS.timeoutMs).default(10_000),
  connectTimeoutMs: integerOption('connectTimeoutMs', OPTION_BOUNDS.connectTimeoutMs).default(10_000),
  ...TRANSACTIONAL_OPTION,
});

export function sqlTargetOptions(kind: string, options: Record<string, unknown> | undefined): SqlTargetOptions {
  return parseTargetOptions(kind, SQL_OPTIONS, options);
}

/**
 * Query parameters a SQL target URL may carry. Drivers turn every parameter
 * into a connection option — mysql2's `multipleStatements` lets one string
 * run several statements, pg's `sslkey`/`sslcert` make the worker read any
 * file it can — so only these are let through (sources allow the same three
 * as MySQL targets).
 */
export const TARGET_URL_PARAMETERS = {
  mysql: ['ssl', 'connectTimeout', 'charset'],
  postgres: ['password', 'sslmode', 'ssl', 'application_name', 'connect_timeout'],
} as const;

/** Checks the URL's scheme and parameters; errors show it with the password masked (invariant 10). */
export function checkTargetUrl(kind: string, url: string, protocols: readonly string[], parameters: readonly string[]): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetUrlError(`${kind} target: the url is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new TargetUrlError(`${kind} target: ${redactUrl(url)} must start with ${protocols.map((p) => p + '//').join(' or ')}`);
  }
  if (parsed.pathname.length <= 1) throw new TargetUrlError(`${kind} target: ${redactUrl(url)} names no database`);
  for (const name of parsed.searchParams.keys()) {
    if (!parameters.includes(name)) {
      throw new TargetUrlError(`${kind} target: url option ${JSON.stringify(name)} is not supported (supported: ${parameters.join(', ')})`);
    }
  }
  return parsed;
}

/** A raw driver connection as knex's pool hooks see it: both pg and mysql2 take (sql, callback). */
interface RawConnection {
  query(sql: string, callback: (error: Error | null) => void): unknown;
}

/**
 * Knex pool settings: small pool, session set up on every new connection
 * (so a reconnect can never run with the server's defaults), and knex's own
 * console warnings silenced: every failure reaches the caller as an error.
 */
export function poolConfig(options: SqlTargetOptions, sessionSql: string): Pick<Knex.Config, 'pool' | 'acquireConnectionTimeout' | 'log' | 'compileSqlOnError'> {
  return {
    pool: {
      min: 0,
      max: options.poolMax,
      afterCreate(connection: RawConnection, done: (error: Error | null, connection: RawConnection) => void) {
        connection.query(sessionSql, (error) => done(error, connection));
      },
    },
    acquireConnectionTimeout: options.acquireTimeoutMs,
    // Errors carry the statement with placeholders, never the row values.
    compileSqlOnError: false,
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  };
}

import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import knexFactory, { Knex } from 'knex';
import { quoteAnsi, TargetTableSpec } from '@tributary/model';
import { TargetUrlError } from '../errors';
import { integerOption, OPTION_BOUNDS, parseTargetOptions, targetOptions, TRANSACTIONAL_OPTION } from '../option-bounds';
import { applySqlBatch, prepareSqlBatch, runSqlTransaction, sqlPlanOf } from '../sql/sql-apply';
import { CHECKPOINTS_TABLE } from '../sql/sql-dialect';
import { asTransient, Bookkeeping, checkpointOf, ddlTransaction, pingKnex, RowQuery, SqlReadBack, SqlRowReading } from '../sql/sql-target-ops';
import { evolveSqliteTable, readSqliteTable, SqliteQuery, sqliteQuery } from './sqlite-evolve';
import { SQLITE_BOOKKEEPING_DDL, sqliteCreateTable, sqliteDialect, sqliteSyntax } from './sqlite-sql';
import { fromSqlite } from './sqlite-values';
import { tableProblems } from '../sql/table-evolution';
import { readTableSteps, recordCreatedTable, TABLE_STEPS_TABLE } from '../sql/table-steps';
import { validateTableSpec } from '../table-spec';
import { ApplyBatch, ApplyHooks, ApplyResult, PreparedApply, Target, TargetCheckpoint, TargetConnection, TargetFactory, TargetTransaction } from '../target';

/** SQLite selects each column as it is; fromSqlite converts the value. */
const ROW_READING: SqlRowReading = { ...sqliteSyntax, readExpression: (_column, quoted) => quoted, fromDriver: fromSqlite };

/** Options of the SQLite target (TargetConnection.options); all optional. */
export interface SqliteTargetOptions {
  /** How long a statement waits for another process's write lock before failing as transient (default 5 000 ms). */
  busyTimeoutMs: number;
  /** All of a source transaction's changes in one target transaction (TRANSACTIONAL_OPTION). */
  transactional: boolean;
}

const SQLITE_OPTIONS = targetOptions({ busyTimeoutMs: integerOption('busyTimeoutMs', OPTION_BOUNDS.busyTimeoutMs).default(5000), ...TRANSACTIONAL_OPTION });

/**
 * SQLite target (better-sqlite3): an embedded file, for the demo and edge
 * copies. URL `sqlite:///absolute/path.db` (or `file:///absolute/path.db`).
 *
 * Writes go through ONE connection (a knex pool of one better-sqlite3
 * Database), so apply transactions run one at a time, with the same shape as
 * the other SQL targets (sql-apply.ts): rows, versions and checkpoint commit
 * together, and hooks.recordRejected (async) runs before COMMIT. Reads
 * (readRows, readCheckpoint, checkTable) use a second Database: in WAL mode it
 * sees the last committed state without waiting for an open apply.
 */
export class SqliteTarget extends SqlReadBack implements Target {
  readonly kind = 'sqlite';
  protected readonly reading = ROW_READING;
  private readonly path: string;
  private readonly options: SqliteTargetOptions;
  private readonly knex: Knex;
  private reader: Database.Database | undefined;
  private readonly bookkeeping = new Bookkeeping(() => this.createTables(SQLITE_BOOKKEEPING_DDL));
  /** Reads of rows go through the reader connection (see the class comment). */
  protected readonly query: RowQuery = (sql, params) => this.read((query) => query(sql, params));

  constructor(connection: TargetConnection, dir: string | null = null) {
    super();
    this.options = sqliteTargetOptions(connection.options);
    this.path = sqlitePath(connection.url, dir);
    const busyTimeoutMs = this.options.busyTimeoutMs;
    this.knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: this.path, options: { safeIntegers: true } },
      useNullAsDefault: true,
      pool: {
        min: 0,
        max: 1,
        afterCreate(db: Database.Database, done: (error: Error | null, db: Database.Database) => void) {
          try {
            db.pragma('journal_mode = WAL');
            db.pragma(`busy_timeout = ${busyTimeoutMs}`);
            done(null, db);
          } catch (error) {
            done(error instanceof Error ? error : new Error(String(error)), db);
          }
        },
      },
      acquireConnectionTimeout: 60_000,
      // Errors carry the statement with placeholders, never the row values.
      compileSqlOnError: false,
      log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
    });
  }

  /**
   * Creates the table (STRICT, SQLite types from type-mapping.ts, the
   * source's defaults from column-defaults.ts), or evolves it to `table`:
   * the steps it has not had carried out (columns dropped or renamed,
   * defaults changed by rebuilding the table), columns added NULL-able, NOT
   * NULL columns the spec drops made NULL-able (by rebuilding the table),
   * nothing else dropped or retyped.
   *
   * @throws TargetConfigError if the existing primary key is not the spec's key.
   */
  async ensureTable(table: TargetTableSpec): Promise<void> {
    const spec = validateTableSpec(table);
    await this.createTables(SQLITE_BOOKKEEPING_DDL, async (trx) => {
      const query = sqliteQuery(trx);
      // In the write transaction: whether this call creates the table decides which steps it has had.
      const existing = await readSqliteTable(query, spec.name);
      if (existing.columns.length === 0) {
        await trx.raw(sqliteCreateTable(spec));
        await recordCreatedTable(query, sqliteDialect.tableSteps, spec);
        return;
      }
      await evolveSqliteTable(trx, spec, { ...existing, steps: await readTableSteps(query, sqliteDialect.tableSteps, spec.name) });
    });
    this.bookkeeping.created();
  }

  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    const existing = await this.read(async (query) => {
      const read = await readSqliteTable(query, spec.name);
      if (read.columns.length === 0) return null;
      // No bookkeeping table before the first ensureTable or apply: no steps had.
      const bookkept = await query(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`, [TABLE_STEPS_TABLE]);
      const steps = bookkept.length === 0 ? [] : await readTableSteps(query, sqliteDialect.tableSteps, spec.name);
      return { ...read, steps };
    });
    return tableProblems(spec, existing, false);
  }

  prepare(batch: ApplyBatch): PreparedApply {
    return prepareSqlBatch(this, sqliteDialect, batch);
  }

  async apply(batch: ApplyBatch, hooks: ApplyHooks, prepared?: PreparedApply): Promise<ApplyResult> {
    await this.bookkeeping.ensure();
    return applySqlBatch(this.knex, sqliteDialect, batch, hooks, ROW_READING, sqlPlanOf(this, prepared));
  }

  async transaction<T>(tables: readonly string[], work: (tx: TargetTransaction) => Promise<T>): Promise<T> {
    await this.bookkeeping.ensure();
    return runSqlTransaction(this, this.knex, sqliteDialect, tables, work);
  }

  private createTables(ddl: readonly string[], then?: (trx: Knex.Transaction) => Promise<void>): Promise<void> {
    // One connection, and SQLite's write lock across processes: DDL cannot race.
    return ddlTransaction(this.knex, sqliteDialect, ddl, { then });
  }

  async readCheckpoint(routeId: string): Promise<TargetCheckpoint | null> {
    const rows = await this.read(async (query) => {
      const exists = await query(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`, [CHECKPOINTS_TABLE]);
      if (exists.length === 0) return []; // no table yet: no checkpoint
      return query(`SELECT watermark, updated_ms FROM ${quoteAnsi(CHECKPOINTS_TABLE)} WHERE route_id = ?`, [routeId]);
    });
    return checkpointOf(routeId, rows);
  }

  ping(): Promise<void> {
    return pingKnex(this.knex, sqliteDialect);
  }

  async close(): Promise<void> {
    this.reader?.close();
    this.reader = undefined;
    await this.knex.destroy();
  }

  /** Runs reads on the reader connection, opened after the writer has made the file WAL. */
  private async read<T>(work: (query: SqliteQuery) => Promise<T>): Promise<T> {
    return asTransient(sqliteDialect, async () => {
      if (!this.reader) {
        await this.knex.raw('SELECT 1'); // creates the file and switches it to WAL
        const reader = new Database(this.path, { fileMustExist: true });
        reader.defaultSafeIntegers(true);
        reader.pragma(`busy_timeout = ${this.options.busyTimeoutMs}`);
        this.reader = reader;
      }
      const db = this.reader;
      return work(async (sql, params) => db.prepare(sql).all(...params) as Record<string, unknown>[]);
    });
  }
}

/**
 * Parses `sqlite:///abs/path.db` or `file:///abs/path.db`: absolute paths
 * only, so every process finds one file. With `dir` (SQLITE_DIR) the file
 * must lie inside it, `..` and symbolic links resolved: an admin request
 * must not make the worker write a database over any file it can reach
 * (`/var/x/%2E%2E/%2E%2E/etc/passwd` was `/etc/passwd`).
 */
export function sqlitePath(url: string, dir: string | null = null): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetUrlError('sqlite target: the url is not a valid URL (want sqlite:///absolute/path.db)');
  }
  if (parsed.protocol !== 'sqlite:' && parsed.protocol !== 'file:') {
    throw new TargetUrlError('sqlite target: the url must start with sqlite:// or file://');
  }
  if (parsed.host !== '' || parsed.search !== '' || parsed.hash !== '') {
    throw new TargetUrlError('sqlite target: the url must be sqlite:///absolute/path.db (no host, query or fragment)');
  }
  const decoded = decodeURIComponent(parsed.pathname);
  if (!isAbsolute(decoded) || decoded.endsWith('/') || decoded.includes('\0')) {
    throw new TargetUrlError('sqlite target: the url must name an absolute file path');
  }
  const path = resolve(decoded);
  if (dir !== null) {
    const root = realOrSelf(resolve(dir));
    if (!inside(realOrSelf(dirname(path)), root)) throw new TargetUrlError(`sqlite target: the file must be inside ${root} (SQLITE_DIR)`);
  }
  return path;
}

/** The real path (symbolic links resolved) of something that exists, else the path itself. */
function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

export function sqliteTargetOptions(options: Record<string, unknown> | undefined): SqliteTargetOptions {
  return parseTargetOptions('sqlite', SQLITE_OPTIONS, options);
}

/** Builds SQLite targets whose files lie inside `dir` (null: anywhere; for tests and embedding). */
export function sqliteTargetFactory(dir: string | null): TargetFactory {
  return { kind: 'sqlite', detectsConflicts: true, versionsPerSource: true, create: (connection) => new SqliteTarget(connection, dir) };
}

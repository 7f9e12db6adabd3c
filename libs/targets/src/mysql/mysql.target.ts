import knexFactory, { Knex } from 'knex';
import { quoteMysql, TargetTableSpec } from '@tributary/model';
import { evolveMysqlTable, mysqlQuery, readMysqlTable, withMysqlDdlLock } from './mysql-evolve';
import { MYSQL_BOOKKEEPING_DDL, mysqlCreateTable, mysqlDialect, mysqlSyntax } from './mysql-sql';
import { fromMysql, mysqlReadExpression } from './mysql-values';
import { applySqlBatch, prepareSqlBatch, runSqlTransaction, sqlPlanOf } from '../sql/sql-apply';
import { checkTargetUrl, poolConfig, sqlTargetOptions, TARGET_URL_PARAMETERS } from '../sql/sql-target';
import { asTransient, Bookkeeping, knexRowQuery, pingKnex, readKnexCheckpoint, RowQuery, SqlCheckpointReading, SqlReadBack, SqlRowReading } from '../sql/sql-target-ops';
import { tableProblems } from '../sql/table-evolution';
import { readTableSteps, recordCreatedTable } from '../sql/table-steps';
import { validateTableSpec } from '../table-spec';
import { ApplyBatch, ApplyHooks, ApplyResult, PreparedApply, Target, TargetCheckpoint, TargetConnection, TargetFactory, TargetTransaction } from '../target';

/**
 * Every connection: UTC, so TIMESTAMP values (canonical UTC text) are stored
 * as the instants they are; strict, so a value that does not fit is an error
 * (a dead letter) and never silently truncated; NO_AUTO_VALUE_ON_ZERO, so a
 * replicated id 0 stays 0.
 */
const SESSION_SQL =
  "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'";

/** ER_NO_SUCH_TABLE: a bookkeeping table ensureTable or apply has not made yet. */
const NO_SUCH_TABLE = '1146';
/** ER_TABLE_EXISTS_ERROR: another process created it between our check and our CREATE. */
const TABLE_EXISTS = '1050';

const ROW_READING: SqlRowReading = { ...mysqlSyntax, readExpression: mysqlReadExpression, fromDriver: fromMysql };
const CHECKPOINT_READING: SqlCheckpointReading = {
  quote: quoteMysql,
  updatedMs: 'UNIX_TIMESTAMP(updated_at) * 1000',
  missingTableCode: NO_SUCH_TABLE,
};

/** MySQL and MariaDB target: one knex pool, rows guarded per row by seq in `_tributary_rows`. */
export class MysqlTarget extends SqlReadBack implements Target {
  readonly kind = 'mysql';
  protected readonly reading = ROW_READING;
  private readonly knex: Knex;
  protected readonly query: RowQuery;
  private readonly bookkeeping = new Bookkeeping(() => this.createTables(MYSQL_BOOKKEEPING_DDL));

  constructor(connection: TargetConnection) {
    super();
    const options = sqlTargetOptions(this.kind, connection.options);
    checkTargetUrl(this.kind, connection.url, ['mysql:', 'mariadb:'], TARGET_URL_PARAMETERS.mysql);
    this.knex = knexFactory({
      client: 'mysql2',
      connection: {
        uri: connection.url,
        charset: 'UTF8MB4_UNICODE_CI',
        connectTimeout: options.connectTimeoutMs,
        // Exact text for DECIMAL/BIGINT, dates and JSON; see fromMysql.
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        jsonStrings: true,
      } as Knex.MySql2ConnectionConfig,
      ...poolConfig(options, SESSION_SQL),
    });
    this.query = knexRowQuery(this.knex, mysqlDialect);
  }

  /**
   * Creates the table (columns with the source's defaults, column-defaults.ts),
   * or evolves it to `table` if it exists: the steps it has not had are
   * carried out (columns dropped or renamed, defaults changed), missing
   * columns are added (NULL-able, with their defaults), NOT NULL columns the
   * spec leaves out become NULL-able, nothing else is dropped or retyped
   * (see table-evolution.ts).
   *
   * @throws TargetConfigError if the existing primary key is not the spec's key.
   */
  async ensureTable(table: TargetTableSpec): Promise<void> {
    const spec = validateTableSpec(table);
    await this.createTables(MYSQL_BOOKKEEPING_DDL);
    await asTransient(mysqlDialect, () =>
      withMysqlDdlLock(this.knex, spec.name, async (query) => {
        // Whether this call creates the table decides which steps it has had.
        const { table: existing } = await readMysqlTable(query, spec.name);
        if (existing.columns.length === 0 && (await this.createTable(query, spec))) return recordCreatedTable(query, mysqlDialect.tableSteps, spec);
        await evolveMysqlTable(query, spec);
      }),
    );
    this.bookkeeping.created();
  }

  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    const existing = await asTransient(mysqlDialect, async () => {
      const query = mysqlQuery(this.knex);
      const { table: read } = await readMysqlTable(query, spec.name);
      return read.columns.length > 0 ? { ...read, steps: await this.hadSteps(spec.name) } : null;
    });
    return tableProblems(spec, existing, true);
  }

  /**
   * Creates the table; false if it was there after all: made by a process
   * that takes no DDL lock (a Tributary from before steps), or named in
   * another case where the server folds table names.
   */
  private async createTable(query: RowQuery, spec: TargetTableSpec): Promise<boolean> {
    try {
      await query(mysqlCreateTable(spec), []);
      return true;
    } catch (error) {
      if (mysqlDialect.classify(error).code === TABLE_EXISTS) return false;
      throw error;
    }
  }

  /** The steps the table has had; none before ensureTable made the bookkeeping table. */
  private async hadSteps(tableName: string): Promise<number[]> {
    try {
      return await readTableSteps(mysqlQuery(this.knex), mysqlDialect.tableSteps, tableName);
    } catch (error) {
      if (mysqlDialect.classify(error).code === NO_SUCH_TABLE) return [];
      throw error;
    }
  }

  prepare(batch: ApplyBatch): PreparedApply {
    return prepareSqlBatch(this, mysqlDialect, batch);
  }

  async apply(batch: ApplyBatch, hooks: ApplyHooks, prepared?: PreparedApply): Promise<ApplyResult> {
    await this.bookkeeping.ensure();
    return applySqlBatch(this.knex, mysqlDialect, batch, hooks, ROW_READING, sqlPlanOf(this, prepared));
  }

  async transaction<T>(tables: readonly string[], work: (tx: TargetTransaction) => Promise<T>): Promise<T> {
    await this.bookkeeping.ensure();
    return runSqlTransaction(this, this.knex, mysqlDialect, tables, work);
  }

  private async createTables(ddl: readonly string[]): Promise<void> {
    await asTransient(mysqlDialect, async () => {
      for (const sql of ddl) {
        try {
          await this.knex.raw(sql);
        } catch (error) {
          // Another process created it between our IF NOT EXISTS check and the CREATE.
          if (mysqlDialect.classify(error).code !== TABLE_EXISTS) throw error;
        }
      }
    });
  }

  readCheckpoint(routeId: string): Promise<TargetCheckpoint | null> {
    return readKnexCheckpoint(this.knex, mysqlDialect, CHECKPOINT_READING, routeId);
  }

  ping(): Promise<void> {
    return pingKnex(this.knex, mysqlDialect);
  }

  close(): Promise<void> {
    return this.knex.destroy();
  }
}

/** Serves MySQL and MariaDB alike (`mysql://` or `mariadb://` URLs). */
export const mysqlTargetFactory: TargetFactory = {
  kind: 'mysql',
  detectsConflicts: true,
  versionsPerSource: true,
  create: (connection) => new MysqlTarget(connection),
};

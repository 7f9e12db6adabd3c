import knexFactory, { Knex } from 'knex';
import { quoteMysql, TargetTableSpec } from '@tributary/model';
import { evolveMysqlTable, readMysqlTable } from './mysql-evolve';
import { MYSQL_BOOKKEEPING_DDL, mysqlCreateTable, mysqlDialect, mysqlSyntax } from './mysql-sql';
import { fromMysql, mysqlReadExpression } from './mysql-values';
import { applySqlBatch, prepareSqlBatch, runSqlTransaction, sqlPlanOf } from '../sql/sql-apply';
import { checkTargetUrl, poolConfig, sqlTargetOptions, TARGET_URL_PARAMETERS } from '../sql/sql-target';
import { asTransient, Bookkeeping, knexRowQuery, pingKnex, readKnexCheckpoint, RowQuery, SqlCheckpointReading, SqlReadBack, SqlRowReading } from '../sql/sql-target-ops';
import { tableProblems } from '../sql/table-evolution';
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

const ROW_READING: SqlRowReading = { ...mysqlSyntax, readExpression: mysqlReadExpression, fromDriver: fromMysql };
const CHECKPOINT_READING: SqlCheckpointReading = {
  quote: quoteMysql,
  updatedMs: 'UNIX_TIMESTAMP(updated_at) * 1000',
  missingTableCode: '1146',
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
   * Creates the table, or evolves it to `table` if it exists: missing columns
   * are added (NULL-able), NOT NULL columns the spec leaves out become
   * NULL-able, nothing is dropped or retyped (see table-evolution.ts).
   *
   * @throws TargetConfigError if the existing primary key is not the spec's key.
   */
  async ensureTable(table: TargetTableSpec): Promise<void> {
    const spec = validateTableSpec(table);
    await this.createTables([...MYSQL_BOOKKEEPING_DDL, mysqlCreateTable(spec)]);
    await asTransient(mysqlDialect, () => evolveMysqlTable(this.knex, spec));
    this.bookkeeping.created();
  }

  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    const { table: existing } = await asTransient(mysqlDialect, () => readMysqlTable(this.knex, spec.name));
    return tableProblems(spec, existing.columns.length > 0 ? existing : null, true);
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
          if (mysqlDialect.classify(error).code !== '1050') throw error;
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

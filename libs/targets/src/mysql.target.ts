import knexFactory, { Knex } from 'knex';
import { quoteMysql, Row } from '@tributary/model';
import { TargetConfigError } from './errors';
import { evolveMysqlTable, readMysqlTable } from './mysql-evolve';
import { MYSQL_BOOKKEEPING_DDL, mysqlCreateTable, mysqlDialect } from './mysql-sql';
import { fromMysql, mysqlReadExpression } from './mysql-values';
import { applySqlBatch, transient } from './sql-apply';
import { CHECKPOINTS_TABLE } from './sql-dialect';
import { checkTargetUrl, poolConfig, sqlTargetOptions } from './sql-target';
import { tableProblems } from './table-evolution';
import { validateTableSpec } from './table-spec';
import {
  ApplyBatch,
  ApplyHooks,
  ApplyResult,
  Target,
  TargetCheckpoint,
  TargetConnection,
  TargetFactory,
  TargetTableSpec,
} from './target';

/**
 * Every connection: UTC, so TIMESTAMP values (canonical UTC text) are stored
 * as the instants they are; strict, so a value that does not fit is an error
 * (a dead letter) and never silently truncated; NO_AUTO_VALUE_ON_ZERO, so a
 * replicated id 0 stays 0.
 */
const SESSION_SQL =
  "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'";

const q = quoteMysql;

/** MySQL and MariaDB target: one knex pool, rows guarded per row by seq in `_tributary_rows`. */
export class MysqlTarget implements Target {
  readonly kind = 'mysql';
  private readonly knex: Knex;
  /** Set once the bookkeeping tables are known to exist (apply may come before any ensureTable). */
  private bookkeeping: Promise<void> | undefined;

  constructor(connection: TargetConnection) {
    const options = sqlTargetOptions(this.kind, connection.options);
    checkTargetUrl(this.kind, connection.url, ['mysql:', 'mariadb:']);
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
    await this.transient(() => evolveMysqlTable(this.knex, spec));
    this.bookkeeping ??= Promise.resolve();
  }

  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    const { table: existing } = await this.transient(() => readMysqlTable(this.knex, spec.name));
    return tableProblems(spec, existing.columns.length > 0 ? existing : null, true);
  }

  async apply(batch: ApplyBatch, hooks: ApplyHooks): Promise<ApplyResult> {
    await this.ensureBookkeeping();
    return applySqlBatch(this.knex, mysqlDialect, batch, hooks);
  }

  private ensureBookkeeping(): Promise<void> {
    this.bookkeeping ??= this.createTables(MYSQL_BOOKKEEPING_DDL).catch((error: unknown) => {
      this.bookkeeping = undefined;
      throw error;
    });
    return this.bookkeeping;
  }

  private async createTables(ddl: readonly string[]): Promise<void> {
    await this.transient(async () => {
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

  async readCheckpoint(routeId: string): Promise<TargetCheckpoint | null> {
    const result = await this.transient(async () => {
      try {
        return await this.knex.raw(
          `SELECT watermark, UNIX_TIMESTAMP(updated_at) * 1000 AS updated_ms FROM ${q(CHECKPOINTS_TABLE)} WHERE route_id = ?`,
          [routeId],
        );
      } catch (error) {
        if (mysqlDialect.classify(error).code === '1146') return [[]]; // no table yet: no checkpoint
        throw error;
      }
    });
    const row = mysqlDialect.rows(result)[0];
    if (!row) return null;
    return { routeId, watermark: Number(row.watermark), updatedAt: new Date(Number(row.updated_ms)) };
  }

  async readRows(table: TargetTableSpec): Promise<Row[]> {
    validateTableSpec(table);
    const select = table.columns.map((c) => mysqlReadExpression(c, q(c.name))).join(', ');
    const result = await this.transient(() =>
      this.knex.raw(`SELECT ${select} FROM ${q(table.name)} ORDER BY ${table.key.map(q).join(', ')}`),
    );
    return mysqlDialect.rows(result).map((raw) => {
      const row: Row = {};
      for (const column of table.columns) row[column.name] = fromMysql(column, raw[column.name]);
      return row;
    });
  }

  async ping(): Promise<void> {
    await this.transient(() => this.knex.raw('SELECT 1'));
  }

  close(): Promise<void> {
    return this.knex.destroy();
  }

  private async transient<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof TargetConfigError) throw error;
      throw transient(mysqlDialect, error);
    }
  }
}

/** Serves MySQL and MariaDB alike (`mysql://` or `mariadb://` URLs). */
export const mysqlTargetFactory: TargetFactory = {
  kind: 'mysql',
  create: (connection) => new MysqlTarget(connection),
};

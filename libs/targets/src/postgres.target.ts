import knexFactory, { Knex } from 'knex';
import { quoteAnsi, Row } from '@tributary/model';
import { TargetConfigError } from './errors';
import { fromPostgres, POSTGRES_TYPES, postgresReadExpression } from './postgres-values';
import { POSTGRES_BOOKKEEPING_DDL, postgresCreateTable, postgresDialect } from './postgres-sql';
import { evolvePostgresTable, readPostgresTable } from './postgres-evolve';
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
 * Every connection reads and writes in UTC and ISO styles, so timestamptz,
 * dates and intervals have one text form; extra_float_digits makes floats
 * print exactly on servers older than 12 as well.
 */
const SESSION_SQL = "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3";

const q = quoteAnsi;

/** PostgreSQL target: one knex pool, rows guarded per row by seq in `_tributary_rows`. */
export class PostgresTarget implements Target {
  readonly kind = 'postgres';
  private readonly knex: Knex;
  /** Set once the bookkeeping tables are known to exist (apply may come before any ensureTable). */
  private bookkeeping: Promise<void> | undefined;

  constructor(connection: TargetConnection) {
    const options = sqlTargetOptions(this.kind, connection.options);
    checkTargetUrl(this.kind, connection.url, ['postgres:', 'postgresql:']);
    this.knex = knexFactory({
      client: 'pg',
      connection: { connectionString: connection.url, types: POSTGRES_TYPES, connectionTimeoutMillis: options.connectTimeoutMs },
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
    await this.createTables([...POSTGRES_BOOKKEEPING_DDL, postgresCreateTable(spec)], (trx) => evolvePostgresTable(trx, spec));
    this.bookkeeping ??= Promise.resolve();
  }

  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    const existing = await this.transient(() => readPostgresTable(this.knex, spec.name));
    return tableProblems(spec, existing.columns.length > 0 ? existing : null, false);
  }

  async apply(batch: ApplyBatch, hooks: ApplyHooks): Promise<ApplyResult> {
    await this.ensureBookkeeping();
    return applySqlBatch(this.knex, postgresDialect, batch, hooks);
  }

  private ensureBookkeeping(): Promise<void> {
    this.bookkeeping ??= this.createTables(POSTGRES_BOOKKEEPING_DDL).catch((error: unknown) => {
      this.bookkeeping = undefined;
      throw error;
    });
    return this.bookkeeping;
  }

  private async createTables(ddl: readonly string[], then?: (trx: Knex.Transaction) => Promise<void>): Promise<void> {
    await this.transient(() =>
      this.knex.transaction(async (trx) => {
        // Two processes may create the same tables at once; concurrent CREATE ... IF NOT EXISTS can
        // still collide in pg_type, so DDL is serialised per database (released at commit). The
        // same lock makes evolving a table read-then-alter without a race.
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['tributary:ddl']);
        for (const sql of ddl) await trx.raw(sql);
        await then?.(trx);
      }),
    );
  }

  async readCheckpoint(routeId: string): Promise<TargetCheckpoint | null> {
    const result = await this.transient(async () => {
      try {
        return await this.knex.raw(
          `SELECT watermark, (EXTRACT(EPOCH FROM updated_at) * 1000)::float8 AS updated_ms FROM ${q(CHECKPOINTS_TABLE)} WHERE route_id = ?`,
          [routeId],
        );
      } catch (error) {
        if (postgresDialect.classify(error).code === '42P01') return { rows: [] }; // no table yet: no checkpoint
        throw error;
      }
    });
    const row = postgresDialect.rows(result)[0];
    if (!row) return null;
    return { routeId, watermark: Number(row.watermark), updatedAt: new Date(Number(row.updated_ms)) };
  }

  async readRows(table: TargetTableSpec): Promise<Row[]> {
    validateTableSpec(table);
    const select = table.columns.map((c) => postgresReadExpression(c, q(c.name))).join(', ');
    const result = await this.transient(() =>
      this.knex.raw(`SELECT ${select} FROM ${q(table.name)} ORDER BY ${table.key.map(q).join(', ')}`),
    );
    return postgresDialect.rows(result).map((raw) => {
      const row: Row = {};
      for (const column of table.columns) row[column.name] = fromPostgres(column, raw[column.name]);
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
      throw transient(postgresDialect, error);
    }
  }
}

export const postgresTargetFactory: TargetFactory = {
  kind: 'postgres',
  create: (connection) => new PostgresTarget(connection),
};

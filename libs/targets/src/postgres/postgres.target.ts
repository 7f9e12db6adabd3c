import knexFactory, { Knex } from 'knex';
import { quoteAnsi, TargetTableSpec } from '@tributary/model';
import { fromPostgres, POSTGRES_TYPES, postgresReadExpression } from './postgres-values';
import { POSTGRES_BOOKKEEPING_DDL, postgresAddRowVersion, postgresCreateTable, postgresDialect, postgresSyntax, ROW_VERSION_COLUMN } from './postgres-sql';
import { evolvePostgresTable, postgresQuery, readPostgresTable } from './postgres-evolve';
import { applySqlBatch, prepareSqlBatch, runSqlTransaction, sqlPlanOf } from '../sql/sql-apply';
import { checkTargetUrl, poolConfig, sqlTargetOptions, TARGET_URL_PARAMETERS } from '../sql/sql-target';
import { asTransient, Bookkeeping, ddlTransaction, knexRowQuery, pingKnex, readKnexCheckpoint, RowQuery, SqlCheckpointReading, SqlReadBack, SqlRowReading } from '../sql/sql-target-ops';
import { ExistingTable, tableProblems } from '../sql/table-evolution';
import { readTableSteps, recordCreatedTable } from '../sql/table-steps';
import { validateTableSpec } from '../table-spec';
import { ApplyBatch, ApplyHooks, ApplyResult, PreparedApply, Target, TargetCheckpoint, TargetConnection, TargetFactory, TargetTransaction } from '../target';

/**
 * Every connection reads and writes in UTC and ISO styles, so timestamptz,
 * dates and intervals have one text form; extra_float_digits makes floats
 * print exactly on servers older than 12 as well.
 */
const SESSION_SQL = "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3";

/** SQLSTATE undefined_table: a bookkeeping table ensureTable or apply has not made yet. */
const UNDEFINED_TABLE = '42P01';

const ROW_READING: SqlRowReading = { ...postgresSyntax, readExpression: postgresReadExpression, fromDriver: fromPostgres };
const CHECKPOINT_READING: SqlCheckpointReading = {
  quote: quoteAnsi,
  updatedMs: '(EXTRACT(EPOCH FROM updated_at) * 1000)::float8',
  missingTableCode: UNDEFINED_TABLE,
};

/**
 * PostgreSQL target: one knex pool, rows guarded per row by the seq each row
 * carries (ROW_VERSION_COLUMN) and by tombstones in `_tributary_rows`.
 */
export class PostgresTarget extends SqlReadBack implements Target {
  readonly kind = 'postgres';
  protected readonly reading = ROW_READING;
  private readonly knex: Knex;
  protected readonly query: RowQuery;
  private readonly bookkeeping = new Bookkeeping(() => this.createTables(POSTGRES_BOOKKEEPING_DDL));
  /** Tables known to have their version column, by name (a failed check is forgotten, so the next apply checks again). */
  private readonly versioned = new Map<string, Promise<void>>();

  constructor(connection: TargetConnection) {
    super();
    const options = sqlTargetOptions(this.kind, connection.options);
    checkTargetUrl(this.kind, connection.url, ['postgres:', 'postgresql:'], TARGET_URL_PARAMETERS.postgres);
    this.knex = knexFactory({
      client: 'pg',
      connection: { connectionString: connection.url, types: POSTGRES_TYPES, connectionTimeoutMillis: options.connectTimeoutMs },
      ...poolConfig(options, SESSION_SQL),
    });
    this.query = knexRowQuery(this.knex, postgresDialect);
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
    await this.createTables(POSTGRES_BOOKKEEPING_DDL, async (trx) => {
      // Read under the DDL lock: whether this call creates the table decides which steps it has had.
      const existing = await readPostgresTable(trx, spec.name);
      if (existing.columns.length === 0) {
        await trx.raw(postgresCreateTable(spec));
        await recordCreatedTable(postgresQuery(trx), postgresDialect.tableSteps, spec);
        return;
      }
      await evolvePostgresTable(trx, spec, { ...existing, steps: await readTableSteps(postgresQuery(trx), postgresDialect.tableSteps, spec.name) });
      // Evolving never touches the version column (its name is reserved), so `existing` still tells whether it is there.
      await addRowVersion(trx, spec.name, existing);
    });
    this.bookkeeping.created();
    this.versioned.set(spec.name, Promise.resolve());
  }

  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    const existing = await asTransient(postgresDialect, async () => {
      const read = await readPostgresTable(this.knex, spec.name);
      return read.columns.length > 0 ? { ...read, steps: await this.hadSteps(spec.name) } : null;
    });
    return tableProblems(spec, existing, false);
  }

  /** The steps the table has had; none before ensureTable made the bookkeeping table. */
  private async hadSteps(tableName: string): Promise<number[]> {
    try {
      return await readTableSteps(postgresQuery(this.knex), postgresDialect.tableSteps, tableName);
    } catch (error) {
      if (postgresDialect.classify(error).code === UNDEFINED_TABLE) return [];
      throw error;
    }
  }

  prepare(batch: ApplyBatch): PreparedApply {
    return prepareSqlBatch(this, postgresDialect, batch);
  }

  async apply(batch: ApplyBatch, hooks: ApplyHooks, prepared?: PreparedApply): Promise<ApplyResult> {
    await this.bookkeeping.ensure();
    await this.ensureRowVersion(batch.table.name);
    return applySqlBatch(this.knex, postgresDialect, batch, hooks, ROW_READING, sqlPlanOf(this, prepared));
  }

  async transaction<T>(tables: readonly string[], work: (tx: TargetTransaction) => Promise<T>): Promise<T> {
    await this.bookkeeping.ensure();
    for (const table of tables) await this.ensureRowVersion(table);
    return runSqlTransaction(this, this.knex, postgresDialect, tables, work);
  }

  /**
   * A table created before versions moved into the rows, or by hand, gets
   * its version column before the first apply of this process (ensureTable
   * normally did it already). Its old versions stay in `_tributary_rows`,
   * which the guard keeps reading.
   */
  private ensureRowVersion(tableName: string): Promise<void> {
    let ready = this.versioned.get(tableName);
    if (!ready) {
      let exists = false;
      ready = this.createTables([], async (trx) => void (exists = await addRowVersion(trx, tableName))).then(
        () => {
          // A table that does not exist yet is checked again next time (whoever creates it may not add the column).
          if (!exists) this.versioned.delete(tableName);
        },
        (error: unknown) => {
          this.versioned.delete(tableName);
          throw error;
        },
      );
      this.versioned.set(tableName, ready);
    }
    return ready;
  }

  private createTables(ddl: readonly string[], then?: (trx: Knex.Transaction) => Promise<void>): Promise<void> {
    return ddlTransaction(this.knex, postgresDialect, ddl, {
      // Two processes may create the same tables at once; concurrent CREATE ... IF NOT EXISTS can
      // still collide in pg_type, so DDL is serialised per database (released at commit). The
      // same lock makes evolving a table read-then-alter without a race.
      lock: (trx) => trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['tributary:ddl']),
      then,
    });
  }

  readCheckpoint(routeId: string): Promise<TargetCheckpoint | null> {
    return readKnexCheckpoint(this.knex, postgresDialect, CHECKPOINT_READING, routeId);
  }

  ping(): Promise<void> {
    return pingKnex(this.knex, postgresDialect);
  }

  close(): Promise<void> {
    return this.knex.destroy();
  }
}

/**
 * Adds the version column to an existing table that lacks it (checked first:
 * an ALTER takes an exclusive lock even when it changes nothing). False if
 * there is no such table.
 */
async function addRowVersion(trx: Knex.Transaction, tableName: string, known?: ExistingTable): Promise<boolean> {
  const existing = known ?? (await readPostgresTable(trx, tableName));
  if (existing.columns.length === 0) return false;
  if (!existing.columns.some((column) => column.name === ROW_VERSION_COLUMN)) await trx.raw(postgresAddRowVersion(tableName));
  return true;
}

export const postgresTargetFactory: TargetFactory = {
  kind: 'postgres',
  detectsConflicts: true,
  versionsPerSource: true,
  create: (connection) => new PostgresTarget(connection),
};

import { CatalogRepository, SourceRecord } from '@tributary/control';
import { migrateOutbox } from '@tributary/db';
import { checkName, ConflictError, NotFoundError, reasonOf, UnusableInputError } from './errors';
import { checkSourceUrl, openSourceDatabase } from './source-database';
import { scrub, secretsOf } from './secrets';

/** A source and what depends on it. */
export interface SourceUsage {
  source: SourceRecord;
  /** Captured tables, by name. */
  tables: string[];
  /** Ids of the routes that read from it. */
  routes: string[];
}

/**
 * Sources: the MySQL/MariaDB databases changes are captured from. Creating
 * one connects to it and creates its outbox, so a source that exists in the
 * configuration is one capture can be installed on.
 */
export class SourceSetup {
  constructor(private readonly catalog: CatalogRepository) {}

  /**
   * @throws InvalidInputError (id, url), ConflictError (id taken, or another
   *   source reads the same database), UnusableInputError (the database
   *   cannot be reached or its outbox created; the driver's reason, no password).
   */
  async create(id: string, url: string): Promise<SourceRecord> {
    const address = await this.check(id, url);
    if (await this.catalog.getSource(id)) throw new ConflictError(`source ${id} already exists`, 'id');
    const sameDatabase = (await this.catalog.listSources()).find((other) => safeAddress(other.url) === address);
    if (sameDatabase) {
      // Two relays would read one outbox and deliver every change twice.
      throw new ConflictError(`source ${sameDatabase.id} already captures from this database (${address})`, 'url');
    }
    await this.prepare(url);
    if (!(await this.catalog.insertSource({ id, url }))) throw new ConflictError(`source ${id} already exists`, 'id');
    return { id, url };
  }

  /** Adds or updates a source (scripts and the demo: safe to run again). */
  async ensure(id: string, url: string): Promise<void> {
    await this.check(id, url);
    await this.prepare(url);
    await this.catalog.upsertSource({ id, url });
  }

  async list(): Promise<SourceUsage[]> {
    const [sources, tables, routes] = await Promise.all([this.catalog.listSources(), this.catalog.listCapturedTables(), this.catalog.listRoutes()]);
    return sources.map((source) => ({
      source,
      tables: tables.filter((table) => table.sourceId === source.id).map((table) => table.table),
      routes: routes.filter((route) => route.sourceId === source.id).map((route) => route.id),
    }));
  }

  /** @throws NotFoundError */
  async get(id: string): Promise<SourceUsage> {
    const source = await this.require(id);
    const [tables, routes] = await Promise.all([this.catalog.listCapturedTables(id), this.catalog.listRoutes({ sourceId: id })]);
    return { source, tables: tables.map((table) => table.table), routes: routes.map((route) => route.id) };
  }

  /**
   * Removes a source from the configuration. Its outbox stays in the source
   * database (nothing writes to it once no table is captured).
   *
   * @throws NotFoundError; ConflictError while tables are captured or routes read from it.
   */
  async delete(id: string): Promise<void> {
    const { tables, routes } = await this.get(id);
    if (routes.length > 0) throw new ConflictError(`source ${id} is used by routes ${routes.join(', ')}; delete them first`);
    if (tables.length > 0) {
      throw new ConflictError(`source ${id} still has captured tables (${tables.join(', ')}); disable their capture first`);
    }
    await this.catalog.deleteSource(id);
  }

  /** @throws NotFoundError */
  async require(id: string): Promise<SourceRecord> {
    const source = await this.catalog.getSource(id);
    if (!source) throw new NotFoundError(`source ${id} does not exist`, 'sourceId');
    return source;
  }

  private async check(id: string, url: string): Promise<string> {
    checkName('id', id);
    return checkSourceUrl(url);
  }

  /** Connects and creates (or upgrades) the outbox. */
  private async prepare(url: string): Promise<void> {
    const knex = await openSourceDatabase(url, (reason) => new UnusableInputError(`cannot connect to the source database: ${reason}`, 'url'), 1);
    try {
      await migrateOutbox(knex);
    } catch (error) {
      throw new UnusableInputError(`cannot create the outbox in the source database: ${scrub(reasonOf(error), secretsOf(url))}`, 'url');
    } finally {
      await knex.destroy();
    }
  }
}

function safeAddress(url: string): string | null {
  try {
    return checkSourceUrl(url);
  } catch {
    return null;
  }
}

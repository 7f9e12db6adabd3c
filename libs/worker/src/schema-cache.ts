import { CatalogRepository } from '@tributary/control';
import { TableSchema } from '@tributary/model';
import { TableHistory } from './table-history';

export class UnknownSchemaError extends Error {
  constructor(sourceId: string, table: string, hash: string) {
    super(`no captured schema ${hash} for ${sourceId}.${table}: capture must be installed through Tributary`);
    this.name = 'UnknownSchemaError';
  }
}

/**
 * Captured schemas by hash. Immutable once saved, so cached for the life of
 * the process. Also each table's schema changes (TableHistory), which grow:
 * read again when the caller sees reason to (refresh).
 */
export class SchemaCache {
  private readonly cache = new Map<string, TableSchema>();
  private readonly histories = new Map<string, TableHistory>();

  constructor(private readonly catalog: CatalogRepository) {}

  async load(sourceId: string, table: string, hashes: Iterable<string>): Promise<(hash: string) => TableSchema> {
    for (const hash of new Set(hashes)) {
      const id = `${sourceId}\0${table}\0${hash}`;
      if (this.cache.has(id)) continue;
      const schema = await this.catalog.getSchema(sourceId, table, hash);
      if (!schema) throw new UnknownSchemaError(sourceId, table, hash);
      this.cache.set(id, schema);
    }
    return (hash) => {
      const schema = this.cache.get(`${sourceId}\0${table}\0${hash}`);
      if (!schema) throw new UnknownSchemaError(sourceId, table, hash);
      return schema;
    };
  }

  /**
   * The table's schema changes. A change is recorded before any change
   * captured with its schema can be read, so a caller that meets a schema
   * it has not met before, or a route written in names the history lacks,
   * asks with `refresh` and gets every change that matters.
   */
  async history(sourceId: string, table: string, refresh: boolean): Promise<TableHistory> {
    const id = `${sourceId}\0${table}`;
    let history = this.histories.get(id);
    if (!history || refresh) {
      history = new TableHistory(await this.catalog.schemaChanges.list(sourceId, table));
      this.histories.set(id, history);
    }
    return history;
  }
}

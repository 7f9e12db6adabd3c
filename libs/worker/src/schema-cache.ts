import { CatalogRepository } from '@tributary/control';
import { TableSchema } from '@tributary/model';

export class UnknownSchemaError extends Error {
  constructor(sourceId: string, table: string, hash: string) {
    super(`no captured schema ${hash} for ${sourceId}.${table}: capture must be installed through Tributary`);
    this.name = 'UnknownSchemaError';
  }
}

/** Captured schemas by hash. Immutable once saved, so cached for the life of the process. */
export class SchemaCache {
  private readonly cache = new Map<string, TableSchema>();

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
}

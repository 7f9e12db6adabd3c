import { alterCapturedTable, cascadeWarnings, installCapture, uninstallCapture } from '@tributary/capture';
import { CatalogRepository, openMysql, RouteRecord, TargetRecord } from '@tributary/control';
import { migrateOutbox } from '@tributary/db';
import { TableSchema, validateIdentifier, validateName } from '@tributary/model';
import { TargetRegistry } from '@tributary/targets';

export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupError';
  }
}

/**
 * The configuration operations (sources, captured tables, targets, routes),
 * validated on the way in (invariant 8). The admin API, the demo and tests
 * all go through here.
 */
export class ReplicationSetup {
  constructor(
    private readonly catalog: CatalogRepository,
    private readonly registry: TargetRegistry,
  ) {}

  /** Registers a source database and creates its outbox. */
  async addSource(id: string, url: string): Promise<void> {
    validateName(id, 'source id');
    const knex = openMysql(url, { min: 0, max: 1 });
    try {
      await migrateOutbox(knex);
    } finally {
      await knex.destroy();
    }
    await this.catalog.upsertSource({ id, url });
  }

  /** Installs (or regenerates) capture triggers on a table; the schema is saved before the triggers go live. */
  async captureTable(sourceId: string, table: string): Promise<{ schema: TableSchema; warnings: string[] }> {
    validateIdentifier(table, 'table');
    const source = await this.requireSource(sourceId);
    const knex = openMysql(source.url, { min: 0, max: 2 });
    try {
      const schema = await installCapture(knex, table, {
        beforeInstall: (installing) => this.catalog.saveSchema(sourceId, installing),
      });
      await this.catalog.recordCapturedTable(sourceId, table, schema.hash);
      return { schema, warnings: await cascadeWarnings(knex, table) };
    } finally {
      await knex.destroy();
    }
  }

  /**
   * Changes a captured table's shape the safe way (alterCapturedTable): the
   * ALTER and the regenerated triggers are one step for the application's
   * writers, and the new schema is saved before the triggers go live. Routes
   * then get changes with the new schema, and their targets evolve to it
   * (Target.ensureTable).
   *
   * @param alterSpec what follows `ALTER TABLE <table>`, e.g. `ADD COLUMN note VARCHAR(20) NULL`.
   * @throws SetupError if the source does not exist or the table is not captured;
   *   CaptureError if the spec is refused or the ALTER or the capture fails (its message says whether the ALTER was applied).
   */
  async alterTable(sourceId: string, table: string, alterSpec: string): Promise<{ schema: TableSchema; warnings: string[] }> {
    validateIdentifier(table, 'table');
    const source = await this.requireSource(sourceId);
    const captured = await this.catalog.listCapturedTables(sourceId);
    if (!captured.some((record) => record.table === table)) {
      throw new SetupError(`table ${table} of source ${sourceId} is not captured; alter it directly, or capture it first`);
    }
    const knex = openMysql(source.url, { min: 0, max: 2 });
    try {
      const schema = await alterCapturedTable(knex, table, alterSpec, {
        beforeInstall: (installing) => this.catalog.saveSchema(sourceId, installing),
      });
      await this.catalog.recordCapturedTable(sourceId, table, schema.hash);
      // The ALTER may have added a cascading foreign key.
      return { schema, warnings: await cascadeWarnings(knex, table) };
    } finally {
      await knex.destroy();
    }
  }

  async uncaptureTable(sourceId: string, table: string): Promise<void> {
    validateIdentifier(table, 'table');
    const source = await this.requireSource(sourceId);
    const knex = openMysql(source.url, { min: 0, max: 1 });
    try {
      await uninstallCapture(knex, table);
      await this.catalog.removeCapturedTable(sourceId, table);
    } finally {
      await knex.destroy();
    }
  }

  async addTarget(target: TargetRecord): Promise<void> {
    validateName(target.id, 'target id');
    if (!this.registry.kinds().includes(target.kind)) {
      throw new SetupError(`target kind "${target.kind}" is not one of: ${this.registry.kinds().join(', ')}`);
    }
    await this.catalog.upsertTarget(target);
  }

  async addRoute(route: RouteRecord): Promise<void> {
    validateName(route.id, 'route id');
    validateIdentifier(route.targetTable, 'target table');
    await this.requireSource(route.sourceId);
    const captured = await this.catalog.listCapturedTables(route.sourceId);
    if (!captured.some((table) => table.table === route.table)) {
      throw new SetupError(`table ${route.table} of source ${route.sourceId} is not captured`);
    }
    if (!(await this.catalog.getTarget(route.targetId))) throw new SetupError(`target ${route.targetId} does not exist`);
    await this.catalog.upsertRoute(route);
  }

  private async requireSource(sourceId: string) {
    const source = await this.catalog.getSource(sourceId);
    if (!source) throw new SetupError(`source ${sourceId} does not exist`);
    return source;
  }
}

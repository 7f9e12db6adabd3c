import { CatalogRepository, RouteRecord, SnapshotRepository, TargetRecord } from '@tributary/control';
import { TableSchema } from '@tributary/model';
import { TargetRegistry } from '@tributary/targets';
import { CaptureSetup } from './capture-setup';
import { RouteSetup } from './route-setup';
import { SourceSetup } from './source-setup';
import { TargetSetup } from './target-setup';
import { SchemaChangeOutcome, SchemaChangeRequest, SchemaChangeSetup } from './schema-change';

/**
 * The configuration operations (sources, captured tables, targets, routes),
 * validated on the way in (invariant 8). The admin API, the demo and tests
 * all go through here: the API through the strict operations of `sources`,
 * `tables`, `targets` and `routes` (create refuses duplicates), scripts
 * through the add* methods, which create or replace and are safe to run
 * again. Errors are the typed ones of errors.ts.
 */
export class ReplicationSetup {
  readonly sources: SourceSetup;
  readonly tables: CaptureSetup;
  readonly targets: TargetSetup;
  readonly routes: RouteSetup;
  readonly schemaChanges: SchemaChangeSetup;

  constructor(catalog: CatalogRepository, registry: TargetRegistry, snapshots: SnapshotRepository) {
    this.sources = new SourceSetup(catalog);
    this.tables = new CaptureSetup(catalog, this.sources);
    this.targets = new TargetSetup(catalog, registry);
    this.routes = new RouteSetup(catalog, this.sources, this.tables, this.targets, snapshots);
    this.schemaChanges = new SchemaChangeSetup(catalog, this.tables, (routeId, requestedBy) => this.routes.resync(routeId, requestedBy));
  }

  /** Registers (or updates) a source database and creates its outbox. */
  async addSource(id: string, url: string): Promise<void> {
    await this.sources.ensure(id, url);
  }

  /** Installs (or regenerates) capture triggers on a table; the schema is saved before the triggers go live. */
  async captureTable(sourceId: string, table: string): Promise<{ schema: TableSchema; warnings: string[] }> {
    return this.tables.capture(sourceId, table);
  }

  /** Changes a captured table's shape the safe way, and its routes' targets with it; see SchemaChangeSetup.alter. */
  async alterTable(sourceId: string, table: string, alterSpec: string, request: SchemaChangeRequest = {}): Promise<SchemaChangeOutcome> {
    return this.schemaChanges.alter(sourceId, table, alterSpec, request);
  }

  /** Removes capture from a table; refused while routes replicate it. */
  async uncaptureTable(sourceId: string, table: string): Promise<void> {
    await this.tables.uncapture(sourceId, table);
  }

  /** Adds or replaces a target. */
  async addTarget(target: TargetRecord): Promise<void> {
    await this.targets.ensure(target);
  }

  /** Adds or replaces a route (without checking the target table; the API's create does). */
  async addRoute(route: RouteRecord): Promise<void> {
    await this.routes.ensure(route);
  }
}

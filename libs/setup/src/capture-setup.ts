import {
  CaptureError,
  captureStatus,
  CaptureStatus,
  cascadeGraph,
  cascadeWarnings,
  installCapture,
  uninstallCapture,
} from '@tributary/capture';
import { CapturedTableRecord, CatalogRepository, SourceRecord } from '@tributary/control';
import { TableSchema, validateIdentifier } from '@tributary/model';
import { checkField, checkTableName, ConflictError, InvalidInputError, NotFoundError, UnavailableError } from './errors';
import { tableExists, withSource } from './source-database';
import { SourceSetup } from './source-setup';

/** A captured table as the configuration has it, and whether its triggers still match the table. */
export interface CapturedTableStatus {
  table: string;
  /** Schema hash recorded when capture was last installed. */
  schemaHash: string;
  /** The live comparison, or null if it could not be made (see `error`). */
  status: CaptureStatus | null;
  /** Foreign keys whose cascades the triggers cannot see. */
  warnings: string[];
  /** Why the table could not be inspected (source unreachable, table dropped or changed beyond capture). */
  error: string | null;
  /** Routes that replicate this table. */
  routes: string[];
}

export interface CaptureResult {
  schema: TableSchema;
  warnings: string[];
  /** False when capture was already installed and has been regenerated. */
  created: boolean;
}

/**
 * Capture per table of a source: install (or regenerate) the triggers,
 * report drift, remove capture. Schema changes: SchemaChangeSetup.
 */
export class CaptureSetup {
  constructor(
    private readonly catalog: CatalogRepository,
    private readonly sources: SourceSetup,
  ) {}

  /** Every captured table of a source with its live status; a source that does not answer is reported per table, not thrown. */
  async list(sourceId: string): Promise<CapturedTableStatus[]> {
    const source = await this.sources.require(sourceId);
    return this.inspect(source, await this.catalog.listCapturedTables(sourceId));
  }

  /** @throws NotFoundError if the source does not exist or the table is not captured. */
  async get(sourceId: string, table: string): Promise<CapturedTableStatus> {
    const source = await this.requireCaptured(sourceId, table);
    const [status] = await this.inspect(source, (await this.catalog.listCapturedTables(sourceId)).filter((record) => record.table === table));
    if (!status) throw new NotFoundError(`table ${table} of source ${sourceId} is not captured`, 'table');
    return status;
  }

  /** Compares each table's triggers with its current shape, on one connection to the source. */
  private async inspect(source: SourceRecord, captured: CapturedTableRecord[]): Promise<CapturedTableStatus[]> {
    if (captured.length === 0) return [];
    const routes = await this.catalog.listRoutes({ sourceId: source.id });
    const base = ({ table, schemaHash }: CapturedTableRecord) => ({
      table,
      schemaHash,
      routes: routes.filter((route) => route.table === table).map((route) => route.id),
    });
    try {
      return await withSource(source, async (knex) => {
        const statuses: CapturedTableStatus[] = [];
        const graph = await cascadeGraph(knex);
        for (const record of captured) {
          try {
            const [status, warnings] = await Promise.all([captureStatus(knex, record.table, graph), cascadeWarnings(knex, record.table, graph)]);
            statuses.push({ ...base(record), status, warnings, error: null });
          } catch (error) {
            // The table was dropped, or changed into something capture cannot carry: report it, keep going.
            if (!(error instanceof CaptureError)) throw error;
            statuses.push({ ...base(record), status: null, warnings: [], error: error.message });
          }
        }
        return statuses;
      });
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      return captured.map((record) => ({ ...base(record), status: null, warnings: [], error: error.message }));
    }
  }

  /**
   * Installs capture on a table, or regenerates it if installed (the fix
   * for drift): atomic for the application's writers (installCapture).
   *
   * @throws NotFoundError (source, or no such table at the source), InvalidInputError (a table capture
   *   cannot carry, e.g. without a usable key, or locked by a long transaction), UnavailableError.
   */
  async capture(sourceId: string, table: string): Promise<CaptureResult> {
    checkTableName('table', table);
    const source = await this.sources.require(sourceId);
    const created = !(await this.catalog.getCapturedTable(sourceId, table));
    return withSource(source, async (knex) => {
      if (!(await tableExists(knex, table))) throw new NotFoundError(`table ${table} does not exist in source ${sourceId}`, 'table');
      let schema: TableSchema;
      try {
        schema = await installCapture(knex, table, { beforeInstall: (installing) => this.catalog.saveSchema(sourceId, installing) });
      } catch (error) {
        throw asInvalid(error, 'table');
      }
      await this.catalog.recordCapturedTable(sourceId, table, schema.hash);
      return { schema, warnings: await cascadeWarnings(knex, table), created };
    });
  }

  /** Regenerates the triggers of a captured table from its current shape. @throws NotFoundError if it is not captured. */
  async refresh(sourceId: string, table: string): Promise<CaptureResult> {
    await this.requireCaptured(sourceId, table);
    return this.capture(sourceId, table);
  }

  /**
   * Removes a table's capture triggers and its place in the configuration.
   * A source that does not answer (or no longer exists) would leave the
   * table in the configuration for good, and its source undeletable; with
   * `force` it is removed from the configuration anyway, and the answer says
   * that its triggers, if the database still exists, are still there.
   *
   * @returns whether the triggers were removed (false only with force, when the source did not answer).
   * @throws NotFoundError if it is not captured; ConflictError while routes replicate it;
   *   UnavailableError if the source does not answer and force is not set.
   */
  async uncapture(sourceId: string, table: string, opts: { force?: boolean } = {}): Promise<{ triggersRemoved: boolean; message: string | null }> {
    const source = await this.requireCaptured(sourceId, table);
    const routes = (await this.catalog.listRoutes({ sourceId })).filter((route) => route.table === table).map((route) => route.id);
    if (routes.length > 0) throw new ConflictError(`table ${table} of source ${sourceId} is replicated by routes ${routes.join(', ')}; delete them first`);
    let message: string | null = null;
    try {
      await withSource(source, (knex) => uninstallCapture(knex, table));
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      if (!opts.force) throw new UnavailableError(`${error.message}; use force to remove ${table} from the configuration anyway`, error.field);
      message = `${error.message}: ${table} was removed from the configuration, but its capture triggers (trb_*) could not be dropped; drop them by hand if the database still exists`;
    }
    await this.catalog.removeCapturedTable(sourceId, table);
    return { triggersRemoved: message === null, message };
  }

  /** @throws NotFoundError if the source does not exist or the table is not captured. */
  async requireCaptured(sourceId: string, table: string): Promise<SourceRecord> {
    checkField('table', () => validateIdentifier(table, 'table'));
    const source = await this.sources.require(sourceId);
    if (!(await this.catalog.getCapturedTable(sourceId, table))) {
      throw new NotFoundError(`table ${table} of source ${sourceId} is not captured`, 'table');
    }
    return source;
  }
}

/** A capture refusal is about the input in `field`; anything else is not ours to classify. */
export function asInvalid(error: unknown, field: string): unknown {
  return error instanceof CaptureError ? new InvalidInputError(error.message, field) : error;
}

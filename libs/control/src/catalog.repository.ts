import { Knex } from 'knex';
import { TableSchema } from '@tributary/model';
import { CapturedTableRecord, RouteRecord, SourceRecord, TargetRecord } from './types';

/**
 * Configuration in the control schema: sources, captured tables and their
 * schema history, targets and routes (invariant 8: configuration is data).
 */
export class CatalogRepository {
  constructor(private readonly knex: Knex) {}

  async upsertSource(source: SourceRecord): Promise<void> {
    await this.knex('tributary_sources').insert({ id: source.id, url: source.url }).onConflict('id').merge(['url']);
  }

  async getSource(id: string): Promise<SourceRecord | null> {
    const row = await this.knex('tributary_sources').where({ id }).first();
    return row ? { id: row.id, url: row.url } : null;
  }

  async listSources(): Promise<SourceRecord[]> {
    const rows = await this.knex('tributary_sources').orderBy('id');
    return rows.map((row) => ({ id: row.id, url: row.url }));
  }

  /** Schema history is append-only: changes already in the outbox keep decoding with the hash they carry. */
  async saveSchema(sourceId: string, schema: TableSchema): Promise<void> {
    await this.knex('tributary_table_schemas')
      .insert({ source_id: sourceId, table_name: schema.table, hash: schema.hash, spec: JSON.stringify(schema) })
      .onConflict(['source_id', 'table_name', 'hash'])
      .ignore();
  }

  async getSchema(sourceId: string, table: string, hash: string): Promise<TableSchema | null> {
    const row = await this.knex('tributary_table_schemas').where({ source_id: sourceId, table_name: table, hash }).first();
    return row ? (JSON.parse(row.spec) as TableSchema) : null;
  }

  async recordCapturedTable(sourceId: string, table: string, schemaHash: string): Promise<void> {
    await this.knex('tributary_tables')
      .insert({ source_id: sourceId, table_name: table, schema_hash: schemaHash })
      .onConflict(['source_id', 'table_name'])
      .merge({ schema_hash: schemaHash, installed_at: this.knex.fn.now(6) });
  }

  async removeCapturedTable(sourceId: string, table: string): Promise<void> {
    await this.knex('tributary_tables').where({ source_id: sourceId, table_name: table }).delete();
  }

  async listCapturedTables(sourceId?: string): Promise<CapturedTableRecord[]> {
    const query = this.knex('tributary_tables').orderBy(['source_id', 'table_name']);
    if (sourceId) query.where({ source_id: sourceId });
    const rows = await query;
    return rows.map((row) => ({ sourceId: row.source_id, table: row.table_name, schemaHash: row.schema_hash }));
  }

  async upsertTarget(target: TargetRecord): Promise<void> {
    await this.knex('tributary_targets')
      .insert({ id: target.id, kind: target.kind, url: target.url, options: JSON.stringify(target.options) })
      .onConflict('id')
      .merge(['kind', 'url', 'options']);
  }

  async getTarget(id: string): Promise<TargetRecord | null> {
    const row = await this.knex('tributary_targets').where({ id }).first();
    return row ? toTarget(row) : null;
  }

  async listTargets(): Promise<TargetRecord[]> {
    return (await this.knex('tributary_targets').orderBy('id')).map(toTarget);
  }

  /**
   * Creates a route and its progress row, starting at the relay's current
   * watermark for the source: the route receives changes from now on.
   */
  async upsertRoute(route: RouteRecord): Promise<void> {
    await this.knex.transaction(async (trx) => {
      await trx('tributary_routes')
        .insert({
          id: route.id,
          source_id: route.sourceId,
          table_name: route.table,
          target_id: route.targetId,
          target_table: route.targetTable,
          enabled: route.enabled,
        })
        .onConflict('id')
        .merge(['source_id', 'table_name', 'target_id', 'target_table', 'enabled', 'updated_at']);
      const relay = await trx('tributary_relay_state').where({ source_id: route.sourceId }).first();
      await trx('tributary_route_progress')
        .insert({ route_id: route.id, watermark: relay ? relay.watermark : 0 })
        .onConflict('route_id')
        .ignore();
    });
  }

  async setRouteEnabled(id: string, enabled: boolean): Promise<void> {
    await this.knex('tributary_routes').where({ id }).update({ enabled, updated_at: this.knex.fn.now(6) });
  }

  async listRoutes(filter: { sourceId?: string } = {}): Promise<RouteRecord[]> {
    const query = this.knex('tributary_routes').orderBy('id');
    if (filter.sourceId) query.where({ source_id: filter.sourceId });
    return (await query).map(toRoute);
  }

  async getRoute(id: string): Promise<RouteRecord | null> {
    const row = await this.knex('tributary_routes').where({ id }).first();
    return row ? toRoute(row) : null;
  }
}

interface RouteRow {
  id: string;
  source_id: string;
  table_name: string;
  target_id: string;
  target_table: string;
  enabled: number | boolean;
}

function toRoute(row: RouteRow): RouteRecord {
  return {
    id: row.id,
    sourceId: row.source_id,
    table: row.table_name,
    targetId: row.target_id,
    targetTable: row.target_table,
    enabled: Boolean(row.enabled),
  };
}

function toTarget(row: { id: string; kind: string; url: string; options: string | null }): TargetRecord {
  return { id: row.id, kind: row.kind, url: row.url, options: row.options ? JSON.parse(row.options) : {} };
}

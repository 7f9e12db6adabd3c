import { Knex } from 'knex';
import { feedIdsOf, TableSchema, tableNameSpans } from '@tributary/model';
import { parseUtc } from './mysql-dates';
import { SchemaChangeRepository } from './schema-change.repository';
import { saveSchemaRow } from './schema-rows';
import { TableRenameRecord, TableRenameRepository } from './table-rename.repository';
import { CapturedTableRecord, RouteChanges, RouteRecord, SourceRecord, TargetRecord } from './types';

/** ER_DUP_ENTRY: the id is taken. */
const DUPLICATE_KEY = 1062;

/**
 * Configuration in the control schema: sources, captured tables and their
 * schema history, targets and routes (invariant 8: configuration is data).
 */
export class CatalogRepository {
  /** Schema changes as the targets follow them (part of the schema history). */
  readonly schemaChanges: SchemaChangeRepository;
  readonly tableRenames: TableRenameRepository;

  constructor(private readonly knex: Knex) {
    this.schemaChanges = new SchemaChangeRepository(knex);
    this.tableRenames = new TableRenameRepository(knex);
  }

  async upsertSource(source: SourceRecord): Promise<void> {
    await this.knex('tributary_sources').insert({ id: source.id, url: source.url }).onConflict('id').merge(['url']);
  }

  /** Adds a source; false (and nothing written) if the id is taken. */
  async insertSource(source: SourceRecord): Promise<boolean> {
    return insertUnlessTaken(() => this.knex('tributary_sources').insert({ id: source.id, url: source.url }));
  }

  /**
   * Removes a source with its relay checkpoint and schema history (schemas, changes, table renames), so a
   * source added later under the same id starts afresh (an old watermark
   * would skip the new database's changes). The caller checks first that no
   * table is captured and no route reads from it.
   */
  async deleteSource(id: string): Promise<void> {
    await this.knex.transaction(async (trx) => {
      await trx('tributary_table_schemas').where({ source_id: id }).delete();
      await trx('tributary_schema_changes').where({ source_id: id }).delete();
      await trx('tributary_table_renames').where({ source_id: id }).delete();
      await trx('tributary_relay_state').where({ source_id: id }).delete();
      await trx('tributary_sources').where({ id }).delete();
    });
  }

  async getSource(id: string): Promise<SourceRecord | null> {
    const row = await this.knex('tributary_sources').where({ id }).first();
    return row ? { id: row.id, url: row.url } : null;
  }

  async listSources(): Promise<SourceRecord[]> {
    const rows = await this.knex('tributary_sources').orderBy('id');
    return rows.map((row) => ({ id: row.id, url: row.url }));
  }

  /**
   * Schema history is append-only by hash: changes already in the outbox keep decoding with the hash they
   * carry. What the hash does not cover (column defaults) is kept as last read.
   */
  async saveSchema(sourceId: string, schema: TableSchema): Promise<void> {
    await saveSchemaRow(this.knex, sourceId, schema);
  }

  async getSchema(sourceId: string, table: string, hash: string): Promise<TableSchema | null> {
    const row = await this.knex('tributary_table_schemas').where({ source_id: sourceId, table_name: table, hash }).first();
    return row ? (JSON.parse(row.spec) as TableSchema) : null;
  }

  async recordCapturedTable(sourceId: string, table: string, schemaHash: string): Promise<void> {
    await this.knex('tributary_tables')
      .insert({ source_id: sourceId, table_name: table, schema_hash: schemaHash })
      .onConflict(['source_id', 'table_name'])
      // Installed anew (e.g. after an ALTER through Tributary, which may rebuild the table): the table's id is taken afresh.
      .merge({ schema_hash: schemaHash, installed_at: this.knex.fn.now(6), innodb_table_id: null });
  }

  /**
   * Records the table's InnoDB id if the stored one is still `seen` (so of
   * several admins looking at once, one acts on a change); a change from a
   * known id is a truncate or rebuild, and its time is kept. False if
   * another process recorded it first.
   */
  async recordInnodbTableId(sourceId: string, table: string, seen: number | null, id: number): Promise<boolean> {
    const updated = await this.knex('tributary_tables')
      .where({ source_id: sourceId, table_name: table })
      .andWhereRaw('innodb_table_id <=> ?', [seen])
      .update({ innodb_table_id: id, ...(seen === null ? {} : { rebuilt_at: this.knex.fn.now(6) }) });
    return updated === 1;
  }

  async removeCapturedTable(sourceId: string, table: string): Promise<void> {
    await this.knex('tributary_tables').where({ source_id: sourceId, table_name: table }).delete();
  }

  async listCapturedTables(sourceId?: string): Promise<CapturedTableRecord[]> {
    const query = this.knex('tributary_tables').orderBy(['source_id', 'table_name']);
    if (sourceId) query.where({ source_id: sourceId });
    return (await query).map(toCapturedTable);
  }

  async getCapturedTable(sourceId: string, table: string): Promise<CapturedTableRecord | null> {
    const row = await this.knex('tributary_tables').where({ source_id: sourceId, table_name: table }).first();
    // The column's collation may match names without regard to case; table names are not.
    return row && row.table_name === table ? toCapturedTable(row) : null;
  }

  /** Adds a target; false (and nothing written) if the id is taken. */
  async insertTarget(target: TargetRecord): Promise<boolean> {
    return insertUnlessTaken(() =>
      this.knex('tributary_targets').insert({ id: target.id, kind: target.kind, url: target.url, options: JSON.stringify(target.options) }),
    );
  }

  /** Replaces a target's connection; workers rebuild their connection on their next configuration refresh. */
  async updateTarget(id: string, connection: Pick<TargetRecord, 'url' | 'options'>): Promise<void> {
    await this.knex('tributary_targets').where({ id }).update({ url: connection.url, options: JSON.stringify(connection.options) });
  }

  async deleteTarget(id: string): Promise<void> {
    await this.knex('tributary_targets').where({ id }).delete();
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
   * Creates a route and its progress rows (one per partition), starting at
   * the relay's current watermark for the source: the route receives changes
   * from now on. An existing route is replaced; cut into another number of
   * partitions, its new partitions start where the old ones had all got to.
   */
  async upsertRoute(route: RouteRecord): Promise<void> {
    await this.knex.transaction(async (trx) => {
      const current = await trx('tributary_routes').where({ id: route.id }).forUpdate().first();
      await trx('tributary_routes')
        .insert(routeRow(route))
        .onConflict('id')
        .merge(['source_id', 'table_name', 'target_id', 'target_table', 'enabled', 'filter', 'mapping', 'conflict_policy', 'partitions', 'local_only', 'dropped_columns', 'names_as_of', 'updated_at']);
      const partitions = route.partitions ?? 1;
      if (current && Number(current.partitions) !== partitions) {
        await repartitionProgress(trx, route.id, Number(current.partitions), partitions);
        return;
      }
      const relay = await trx('tributary_relay_state').where({ source_id: route.sourceId }).first();
      await trx('tributary_route_progress')
        .insert(feedIdsOf(route.id, partitions).map((feed) => ({ route_id: feed, watermark: relay ? relay.watermark : 0 })))
        .onConflict('route_id')
        .ignore();
    });
  }

  /**
   * Adds a route and its progress row, starting at the relay's current
   * watermark (changes from now on); false (and nothing written) if the id
   * is taken.
   */
  async insertRoute(route: RouteRecord): Promise<boolean> {
    return insertUnlessTaken(() =>
      this.knex.transaction(async (trx) => {
        await trx('tributary_routes').insert(routeRow(route));
        const relay = await trx('tributary_relay_state').where({ source_id: route.sourceId }).first();
        // Progress rows left by a deleted route of the same id are replaced: this route starts now.
        await deleteFeedProgress(trx, route.id);
        await trx('tributary_route_progress').insert(feedIdsOf(route.id, route.partitions ?? 1).map((feed) => ({ route_id: feed, watermark: relay ? relay.watermark : 0 })));
      }),
    );
  }

  async updateRoute(id: string, changes: RouteChanges): Promise<void> {
    const update: Record<string, unknown> = {};
    if (changes.enabled !== undefined) update.enabled = changes.enabled;
    if (changes.targetTable !== undefined) update.target_table = changes.targetTable;
    if (changes.filter !== undefined) update.filter = changes.filter;
    if (changes.mapping !== undefined) update.mapping = changes.mapping === null ? null : JSON.stringify(changes.mapping);
    if (changes.conflictPolicy !== undefined) update.conflict_policy = changes.conflictPolicy === null ? null : JSON.stringify(changes.conflictPolicy);
    if (changes.partitions !== undefined) update.partitions = changes.partitions;
    if (changes.localOnly !== undefined) update.local_only = changes.localOnly;
    if (changes.droppedColumns !== undefined) update.dropped_columns = changes.droppedColumns;
    // Rules given now are written in the table's newest column names.
    if (changes.filter !== undefined || changes.mapping !== undefined || changes.conflictPolicy !== undefined) update.names_as_of = null;
    if (Object.keys(update).length === 0) return;
    await this.knex.transaction(async (trx) => {
      const current = await trx('tributary_routes').where({ id }).forUpdate().first();
      await trx('tributary_routes').where({ id }).update({ ...update, updated_at: this.knex.fn.now(6) });
      if (current && changes.partitions !== undefined && changes.partitions !== Number(current.partitions)) {
        await repartitionProgress(trx, id, Number(current.partitions), changes.partitions);
      }
    });
  }

  /** Removes a route and its progress; its dead letters stay, as the record of what it refused. */
  async deleteRoute(id: string): Promise<void> {
    await this.knex.transaction(async (trx) => {
      await trx('tributary_routes').where({ id }).delete();
      await deleteFeedProgress(trx, id);
      await trx('tributary_snapshots').where({ route_id: id }).delete();
    });
  }

  async setRouteEnabled(id: string, enabled: boolean): Promise<void> {
    await this.knex('tributary_routes').where({ id }).update({ enabled, updated_at: this.knex.fn.now(6) });
  }

  async listRoutes(filter: { sourceId?: string } = {}): Promise<RouteRecord[]> {
    const query = this.knex('tributary_routes').orderBy('id');
    if (filter.sourceId) query.where({ source_id: filter.sourceId });
    const [rows, renames] = await Promise.all([query, this.tableRenames.list(filter.sourceId)]);
    return (rows as RouteRow[]).map((row) => withNames(toRoute(row), renames));
  }

  async getRoute(id: string): Promise<RouteRecord | null> {
    const row = await this.knex('tributary_routes').where({ id }).first();
    return row ? withNames(toRoute(row), await this.tableRenames.list(row.source_id)) : null;
  }
}

function toCapturedTable(row: { source_id: string; table_name: string; schema_hash: string; innodb_table_id: string | number | null; rebuilt_at: string | null }): CapturedTableRecord {
  return {
    sourceId: row.source_id,
    table: row.table_name,
    schemaHash: row.schema_hash,
    innodbTableId: row.innodb_table_id === null ? null : Number(row.innodb_table_id),
    rebuiltAt: parseUtc(row.rebuilt_at),
  };
}

interface RouteRow {
  id: string;
  source_id: string;
  table_name: string;
  target_id: string;
  target_table: string;
  enabled: number | boolean;
  filter: string | null;
  mapping: string | null;
  conflict_policy: string | null;
  partitions: number;
  local_only: number | boolean;
  dropped_columns: string | null;
  names_as_of: string | number | null;
  created_at: string;
}

function toRoute(row: RouteRow): RouteRecord {
  return {
    id: row.id,
    sourceId: row.source_id,
    table: row.table_name,
    targetId: row.target_id,
    targetTable: row.target_table,
    enabled: Boolean(row.enabled),
    filter: row.filter ?? null,
    mapping: row.mapping ? (JSON.parse(row.mapping) as Record<string, unknown>) : null,
    conflictPolicy: row.conflict_policy ? (JSON.parse(row.conflict_policy) as Record<string, unknown>) : null,
    partitions: Number(row.partitions ?? 1),
    createdAt: parseUtc(row.created_at) ?? undefined,
    localOnly: Boolean(row.local_only),
    droppedColumns: row.dropped_columns === 'drop' ? 'drop' : 'keep',
    namesAsOf: row.names_as_of === null || row.names_as_of === undefined ? null : Number(row.names_as_of),
  };
}

/** The route with the names its table had, when it was renamed (tableNameSpans). */
function withNames(route: RouteRecord, renames: readonly TableRenameRecord[]): RouteRecord {
  const names = tableNameSpans(route.table, renames.filter((rename) => rename.sourceId === route.sourceId));
  return names ? { ...route, names } : route;
}

function routeRow(route: RouteRecord) {
  return {
    id: route.id,
    source_id: route.sourceId,
    table_name: route.table,
    target_id: route.targetId,
    target_table: route.targetTable,
    enabled: route.enabled,
    filter: route.filter ?? null,
    mapping: route.mapping ? JSON.stringify(route.mapping) : null,
    conflict_policy: route.conflictPolicy ? JSON.stringify(route.conflictPolicy) : null,
    partitions: route.partitions ?? 1,
    local_only: route.localOnly ?? false,
    dropped_columns: route.droppedColumns ?? 'keep',
    names_as_of: route.namesAsOf ?? null,
  };
}

/** Runs an insert; false if it failed only because the primary key is taken. */
async function insertUnlessTaken(insert: () => Promise<unknown>): Promise<boolean> {
  try {
    await insert();
    return true;
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'errno' in error && error.errno === DUPLICATE_KEY) return false;
    throw error;
  }
}

function toTarget(row: { id: string; kind: string; url: string; options: string | null }): TargetRecord {
  return { id: row.id, kind: row.kind, url: row.url, options: row.options ? JSON.parse(row.options) : {} };
}

/** A route's progress rows: its own and any partition's (also of an earlier number of partitions). */
async function deleteFeedProgress(trx: Knex.Transaction, routeId: string): Promise<void> {
  await trx('tributary_route_progress').where({ route_id: routeId }).orWhereRaw("route_id LIKE ? ESCAPE '!'", [`${likeLiteral(routeId)}.p%`]).delete();
}

/**
 * A route cut into another number of partitions: each new feed starts where
 * the old ones had all got to (the lowest watermark; the changes above it
 * are applied again where they were, which the per-row seq guard skips), so
 * nothing is skipped. Totals and times carry over onto the first new feed.
 */
async function repartitionProgress(trx: Knex.Transaction, routeId: string, from: number, to: number): Promise<void> {
  const old: ProgressRow[] = await trx('tributary_route_progress').whereIn('route_id', feedIdsOf(routeId, from));
  const relay = await trx('tributary_routes as r').join('tributary_relay_state as s', 's.source_id', 'r.source_id').where('r.id', routeId).first('s.watermark');
  // A partition without a row yet has applied nothing the route can vouch for: start from 0 (the floor
  // at the target skips what it holds). No row at all: the route was never fed; it starts at the relay.
  const watermark = old.length === from ? Math.min(...old.map((row) => Number(row.watermark))) : old.length > 0 ? 0 : Number(relay?.watermark ?? 0);
  const numbers = (column: 'max_seq' | 'last_change_ts') => old.map((row) => row[column]).filter((value) => value !== null).map(Number);
  // The control connection reads DATETIMEs as 'YYYY-MM-DD hh:mm:ss.ffffff' strings: they sort as times.
  const lastAppliedAt = old.map((row) => row.last_applied_at).filter((value) => value !== null).sort().pop() ?? null;
  const lastChangeTs = numbers('last_change_ts');
  await deleteFeedProgress(trx, routeId);
  await trx('tributary_route_progress').insert(
    feedIdsOf(routeId, to).map((feed, index) => ({
      route_id: feed,
      watermark,
      max_seq: Math.max(0, ...numbers('max_seq')),
      applied_total: index === 0 ? old.reduce((sum, row) => sum + Number(row.applied_total), 0) : 0,
      last_change_ts: index === 0 && lastChangeTs.length > 0 ? Math.max(...lastChangeTs) : null,
      last_applied_at: index === 0 ? lastAppliedAt : null,
    })),
  );
}

interface ProgressRow {
  watermark: number | string;
  max_seq: number | string;
  applied_total: number | string;
  last_change_ts: number | string | null;
  last_applied_at: string | null;
}

/** `text` as a LIKE pattern matching itself only ('!' is the escape character). */
function likeLiteral(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

import { Knex } from 'knex';
import { ColumnRename, TableSchema, TableStep } from '@tributary/model';
import { saveSchemaRow } from './schema-rows';

/** One schema change of a captured table, as the targets follow it (tributary_schema_changes). */
export interface SchemaChangeRecord {
  id: number;
  sourceId: string;
  table: string;
  fromHash: string;
  toHash: string;
  /** Source column renames, one after another. */
  renames: ColumnRename[];
  /** Per route id: the renames and drops its target table carries out. */
  routeSteps: Record<string, Omit<TableStep, 'id'>>;
}

/** A route whose rules the change rewrites into the new column names. */
export interface RouteRulesRewrite {
  routeId: string;
  filter: string | null;
  mapping: Record<string, unknown> | null;
  conflictPolicy: Record<string, unknown> | null;
}

/**
 * The schema changes of captured tables (issue #17), append-only like the
 * schema history: workers read them to carry renames and drops to target
 * tables at the right place in the stream, and to apply changes captured
 * before a rename with the route's rules in the old names.
 */
export class SchemaChangeRepository {
  constructor(private readonly knex: Knex) {}

  /**
   * Records a change with its new schema in one transaction: the schema,
   * the change, and every route of the table marked as written in its
   * names (rules rewritten where `rewrites` says). Called while the source
   * table is locked, before its new triggers go live, so no change with the
   * new schema can be read before this is.
   *
   * @returns the change's id.
   */
  async record(
    change: Omit<SchemaChangeRecord, 'id'> & { schema: TableSchema; plan: unknown; requestedBy: string | null },
    rewrites: RouteRulesRewrite[],
  ): Promise<number> {
    return this.knex.transaction(async (trx) => {
      await saveSchemaRow(trx, change.sourceId, change.schema);
      const [id] = await trx('tributary_schema_changes').insert({
        source_id: change.sourceId,
        table_name: change.table,
        from_hash: change.fromHash,
        to_hash: change.toHash,
        renames: JSON.stringify(change.renames),
        route_steps: JSON.stringify(change.routeSteps),
        plan: JSON.stringify(change.plan),
        requested_by: change.requestedBy,
      });
      const routes = trx('tributary_routes').where({ source_id: change.sourceId, table_name: change.table });
      await routes.clone().update({ names_as_of: id });
      for (const rewrite of rewrites) {
        await trx('tributary_routes')
          .where({ id: rewrite.routeId })
          .update({
            filter: rewrite.filter,
            mapping: rewrite.mapping === null ? null : JSON.stringify(rewrite.mapping),
            conflict_policy: rewrite.conflictPolicy === null ? null : JSON.stringify(rewrite.conflictPolicy),
            updated_at: trx.fn.now(6),
          });
      }
      return Number(id);
    });
  }

  /** The table's changes, oldest first. */
  async list(sourceId: string, table: string): Promise<SchemaChangeRecord[]> {
    const rows = await this.knex('tributary_schema_changes')
      .select('id', 'source_id', 'table_name', 'from_hash', 'to_hash', 'renames', 'route_steps')
      .where({ source_id: sourceId, table_name: table })
      .orderBy('id');
    return rows.map((row) => ({
      id: Number(row.id),
      sourceId: row.source_id,
      table: row.table_name,
      fromHash: row.from_hash,
      toHash: row.to_hash,
      renames: JSON.parse(row.renames) as ColumnRename[],
      routeSteps: JSON.parse(row.route_steps) as SchemaChangeRecord['routeSteps'],
    }));
  }

}

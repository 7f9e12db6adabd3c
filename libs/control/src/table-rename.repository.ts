import { Knex } from 'knex';
import { TableRenameEvent, TableSchema } from '@tributary/model';
import { parseUtc } from './mysql-dates';

/** A captured table renamed through Tributary (tributary_table_renames). */
export interface TableRenameRecord extends TableRenameEvent {
  id: number;
  sourceId: string;
  requestedBy: string | null;
  createdAt: Date;
}

/** Why the control schema refuses a rename (the name is another table's). */
export class TableNameTakenError extends Error {}

/**
 * Table renames (issue #17). Recording one moves everything the control
 * schema keeps under the table's name to its new name in one transaction:
 * its capture record, schema history, schema changes, routes, and their
 * dead letters and conflicts. Outbox rows keep the name they were written
 * with; the rename's position (`at`) tells readers which name is whose.
 */
export class TableRenameRepository {
  constructor(private readonly knex: Knex) {}

  /**
   * Records `from` renamed to `to` at outbox position `at`. Called while the
   * source table and its outbox are locked, before any row under the new
   * name can be written. Records a previous table of the name `to` left
   * (schemas, schema changes: it is no longer captured and has no routes)
   * are removed: they describe another table.
   *
   * @throws TableNameTakenError if `to` is captured or routed at this source.
   */
  async record(rename: { sourceId: string; from: string; to: string; at: number; requestedBy: string | null }): Promise<void> {
    const { sourceId, from, to } = rename;
    await this.knex.transaction(async (trx) => {
      const taken = await trx('tributary_tables').where({ source_id: sourceId, table_name: to }).forUpdate().first();
      const routed = await trx('tributary_routes').where({ source_id: sourceId, table_name: to }).forUpdate().first();
      if (taken || routed) throw new TableNameTakenError(`${to} is ${taken ? 'captured' : 'routed'} at source ${sourceId}: a table rename cannot take its name`);
      await trx('tributary_table_schemas').where({ source_id: sourceId, table_name: to }).delete();
      await trx('tributary_schema_changes').where({ source_id: sourceId, table_name: to }).delete();
      await moveTable(trx, sourceId, from, to);
      await trx('tributary_table_renames').insert({ source_id: sourceId, from_name: from, to_name: to, at: rename.at, requested_by: rename.requestedBy });
    });
  }

  /** Takes back a rename `record` recorded, when it then failed at the source: everything is under the old name again. */
  async undo(rename: { sourceId: string; from: string; to: string; at: number }): Promise<void> {
    await this.knex.transaction(async (trx) => {
      await trx('tributary_table_renames').where({ source_id: rename.sourceId, from_name: rename.from, to_name: rename.to, at: rename.at }).delete();
      await moveTable(trx, rename.sourceId, rename.to, rename.from);
    });
  }

  /** The source's table renames (all sources without `sourceId`), oldest first. */
  async list(sourceId?: string): Promise<TableRenameRecord[]> {
    const query = this.knex('tributary_table_renames').orderBy('id');
    if (sourceId !== undefined) query.where({ source_id: sourceId });
    const rows = (await query) as Array<{ id: number; source_id: string; from_name: string; to_name: string; at: number | string; requested_by: string | null; created_at: string }>;
    return rows.map((row) => ({
      id: Number(row.id),
      sourceId: row.source_id,
      from: row.from_name,
      to: row.to_name,
      at: Number(row.at),
      requestedBy: row.requested_by,
      createdAt: parseUtc(row.created_at) ?? new Date(0),
    }));
  }
}

/** Everything the control schema keeps under the table's name, moved to `to`. */
async function moveTable(trx: Knex.Transaction, sourceId: string, from: string, to: string): Promise<void> {
  // Each recorded schema says which table it is: rewritten under the new name.
  const schemas = await trx('tributary_table_schemas').where({ source_id: sourceId, table_name: from }).select('hash', 'spec');
  for (const row of schemas as Array<{ hash: string; spec: string }>) {
    const spec = { ...(JSON.parse(row.spec) as TableSchema), table: to };
    await trx('tributary_table_schemas').where({ source_id: sourceId, table_name: from, hash: row.hash }).update({ table_name: to, spec: JSON.stringify(spec) });
  }
  await trx('tributary_schema_changes').where({ source_id: sourceId, table_name: from }).update({ table_name: to });
  await trx('tributary_tables').where({ source_id: sourceId, table_name: from }).update({ table_name: to });
  const routeIds = (await trx('tributary_routes').where({ source_id: sourceId, table_name: from }).select('id')).map((row: { id: string }) => row.id);
  await trx('tributary_routes').where({ source_id: sourceId, table_name: from }).update({ table_name: to, updated_at: trx.fn.now(6) });
  if (routeIds.length > 0) {
    await trx('tributary_dead_letters').whereIn('route_id', routeIds).where({ table_name: from }).update({ table_name: to });
    await trx('tributary_conflicts').whereIn('route_id', routeIds).where({ table_name: from }).update({ table_name: to });
  }
}

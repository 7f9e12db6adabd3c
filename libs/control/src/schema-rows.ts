import { Knex } from 'knex';
import { TableSchema } from '@tributary/model';

/** A schema recorded under its hash; one the hash already has takes the new spec (only what the hash leaves out differs). */
export async function saveSchemaRow(knex: Knex, sourceId: string, schema: TableSchema): Promise<void> {
  await knex('tributary_table_schemas')
    .insert({ source_id: sourceId, table_name: schema.table, hash: schema.hash, spec: JSON.stringify(schema) })
    .onConflict(['source_id', 'table_name', 'hash'])
    .merge(['spec']);
}

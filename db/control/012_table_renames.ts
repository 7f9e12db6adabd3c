import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * Captured tables renamed through Tributary (issue #17): the outbox rows of
 * the table up to `at` carry `from_name`, later ones `to_name`. Readers of
 * the outbox tell a table's rows by its names and their stretches
 * (tableNameSpans), so a renamed table's changes flow on without a copy,
 * and a new table that takes the freed name is another table.
 */
export const tableRenames: NamedMigration = {
  name: '012_table_renames',
  async up(knex: Knex) {
    await knex.schema.createTable('tributary_table_renames', (t) => {
      t.bigIncrements('id').primary();
      t.string('source_id', 63).notNullable();
      t.string('from_name', 64).notNullable();
      t.string('to_name', 64).notNullable();
      t.bigInteger('at').notNullable();
      t.string('requested_by', 255).nullable();
      t.timestamp('created_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.index(['source_id', 'at']);
    });
  },
  async down(knex: Knex) {
    await knex.schema.dropTable('tributary_table_renames');
  },
};

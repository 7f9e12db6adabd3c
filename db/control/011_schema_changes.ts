import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * Schema changes of captured tables as the targets follow them (issue #17):
 * each change's column renames, and per route the renames and drops its
 * target table carries out, in the order the changes were made (id).
 * Routes say what their target does with a column the source dropped, and
 * in which change's names their filter, mapping and conflict policy are
 * written (names_as_of; null: the newest), so changes captured before a
 * rename are applied with the rules in their own names.
 */
export const schemaChanges: NamedMigration = {
  name: '011_schema_changes',
  async up(knex: Knex) {
    await knex.schema.createTable('tributary_schema_changes', (t) => {
      t.bigIncrements('id').primary();
      t.string('source_id', 64).notNullable();
      t.string('table_name', 64).notNullable();
      t.string('from_hash', 32).notNullable();
      t.string('to_hash', 32).notNullable();
      /** Source column renames, one after another (JSON [{from, to}]). */
      t.text('renames').notNullable();
      /** Per route id, the renames and drops of its target table (JSON {route: {dropped, renamed}}). */
      t.text('route_steps').notNullable();
      /** The plan as the API answered it (JSON), kept as the change's record. */
      t.text('plan', 'mediumtext').notNullable();
      t.string('requested_by', 255).nullable();
      t.timestamp('created_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.index(['source_id', 'table_name', 'id']);
    });
    await knex.schema.alterTable('tributary_routes', (t) => {
      t.string('dropped_columns', 8).notNullable().defaultTo('keep');
      t.bigInteger('names_as_of').nullable();
    });
  },
  async down(knex: Knex) {
    await knex.schema.alterTable('tributary_routes', (t) => {
      t.dropColumn('names_as_of');
      t.dropColumn('dropped_columns');
    });
    await knex.schema.dropTable('tributary_schema_changes');
  },
};

import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * A captured table's InnoDB table id as last seen, and when it last changed:
 * TRUNCATE TABLE (which fires no trigger) and a table rebuild give the table
 * a new id, which is how the admin notices them (TableRebuildWatcher).
 */
export const tableRebuilds: NamedMigration = {
  name: '007_table_rebuilds',
  async up(knex: Knex) {
    await knex.schema.alterTable('tributary_tables', (t) => {
      t.bigInteger('innodb_table_id').unsigned().nullable();
      t.timestamp('rebuilt_at', { precision: 6 }).nullable();
    });
  },
  async down(knex: Knex) {
    await knex.schema.alterTable('tributary_tables', (t) => {
      t.dropColumn('innodb_table_id');
      t.dropColumn('rebuilt_at');
    });
  },
};

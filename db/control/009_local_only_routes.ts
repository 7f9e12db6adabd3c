import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * A route that passes on only the application's own writes (local_only):
 * all-to-all replication among three or more databases, where what a node
 * received from one peer must not be sent on to another.
 */
export const localOnlyRoutes: NamedMigration = {
  name: '009_local_only_routes',
  async up(knex: Knex) {
    await knex.schema.alterTable('tributary_routes', (t) => {
      t.boolean('local_only').notNullable().defaultTo(false);
    });
  },
  async down(knex: Knex) {
    await knex.schema.alterTable('tributary_routes', (t) => {
      t.dropColumn('local_only');
    });
  },
};

import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * Partitioned routes: a route's number of partitions (1: one ordered stream,
 * as every route before this), and room in the progress table for a
 * partition's feed id (`<route>.p<i>of<n>`, up to 63 + 8 characters).
 */
export const partitionedRoutes: NamedMigration = {
  name: '006_partitioned_routes',
  async up(knex: Knex) {
    await knex.schema.alterTable('tributary_routes', (t) => {
      t.integer('partitions').unsigned().notNullable().defaultTo(1);
    });
    await knex.schema.alterTable('tributary_route_progress', (t) => {
      t.string('route_id', 80).notNullable().alter();
    });
  },
  async down(knex: Knex) {
    await knex('tributary_route_progress').where('route_id', 'like', '%.p%of%').delete();
    await knex.schema.alterTable('tributary_route_progress', (t) => {
      t.string('route_id', 63).notNullable().alter();
    });
    await knex.schema.alterTable('tributary_routes', (t) => {
      t.dropColumn('partitions');
    });
  },
};

import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * Routes get the places later features fill (filter, column mapping,
 * conflict policy), and dead letters get a resolution: retried or discarded,
 * by whom and why (nothing is dropped without a record).
 */
export const routesAndDeadLetters: NamedMigration = {
  name: '002_routes_and_dead_letters',
  async up(knex: Knex) {
    await knex.schema.alterTable('tributary_routes', (t) => {
      t.text('filter').nullable();
      t.text('mapping').nullable(); // JSON
      t.text('conflict_policy').nullable(); // JSON
    });
    await knex.schema.alterTable('tributary_dead_letters', (t) => {
      t.string('status', 16).notNullable().defaultTo('open'); // open | retrying | retried | discarded
      t.timestamp('resolved_at', { precision: 6 }).nullable();
      t.string('resolved_by', 255).nullable();
      t.text('resolution_note').nullable();
      t.integer('attempts').notNullable().defaultTo(1);
      t.index(['route_id', 'status']);
    });
  },
  async down(knex: Knex) {
    await knex.schema.alterTable('tributary_dead_letters', (t) => {
      t.dropIndex(['route_id', 'status']);
      t.dropColumns('status', 'resolved_at', 'resolved_by', 'resolution_note', 'attempts');
    });
    await knex.schema.alterTable('tributary_routes', (t) => {
      t.dropColumns('filter', 'mapping', 'conflict_policy');
    });
  },
};

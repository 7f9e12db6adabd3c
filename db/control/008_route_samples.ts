import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * A route's status sampled every SAMPLE_EVERY_MS (one row per route and time
 * bucket, whichever admin writes it first), kept a few hours: the history a
 * status page charts, which survives an admin restart.
 */
export const routeSamples: NamedMigration = {
  name: '008_route_samples',
  async up(knex: Knex) {
    await knex.schema.createTable('tributary_route_samples', (t) => {
      t.string('route_id', 63).notNullable();
      t.timestamp('at', { precision: 6 }).notNullable();
      t.string('state', 16).notNullable();
      t.bigInteger('lag_changes').nullable();
      t.double('lag_seconds').nullable();
      t.bigInteger('applied_total').notNullable();
      t.bigInteger('watermark').notNullable();
      t.primary(['route_id', 'at']);
      t.index(['at']);
    });
  },
  async down(knex: Knex) {
    await knex.schema.dropTable('tributary_route_samples');
  },
};

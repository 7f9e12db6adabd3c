import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * How far a route has applied in source time (read-your-writes per writer,
 * issue #15): every change of the route in a transaction that committed at
 * the source before this moment (microseconds since the epoch, the source
 * server's clock) is applied — whatever transactions are still open below.
 */
export const routeCoverage: NamedMigration = {
  name: '010_route_coverage',
  async up(knex: Knex) {
    await knex.schema.alterTable('tributary_route_progress', (t) => {
      t.bigInteger('covered_micros').nullable();
    });
  },
  async down(knex: Knex) {
    await knex.schema.alterTable('tributary_route_progress', (t) => {
      t.dropColumn('covered_micros');
    });
  },
};

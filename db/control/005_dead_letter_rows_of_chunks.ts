import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * A copy chunk is one outbox row holding many copied rows, all with the
 * chunk's seq: two of them refused by a target are two dead letters of one
 * (route, seq). `row_key` tells them apart: empty for a change with a seq of
 * its own (every letter recorded before this), the sha1 of its key image
 * for a row of a chunk. The unique key that makes a refused-again retry
 * reopen its letter becomes (route, seq, row_key).
 */
export const deadLetterRowsOfChunks: NamedMigration = {
  name: '005_dead_letter_rows_of_chunks',
  async up(knex: Knex) {
    await knex.schema.alterTable('tributary_dead_letters', (t) => {
      t.string('row_key', 40).notNullable().defaultTo('');
    });
    await knex.schema.alterTable('tributary_dead_letters', (t) => {
      t.unique(['route_id', 'seq', 'row_key']);
    });
    await knex.schema.alterTable('tributary_dead_letters', (t) => {
      t.dropUnique(['route_id', 'seq']);
    });
  },
  async down(knex: Knex) {
    await knex.schema.alterTable('tributary_dead_letters', (t) => {
      t.unique(['route_id', 'seq']);
      t.dropUnique(['route_id', 'seq', 'row_key']);
      t.dropColumn('row_key');
    });
  },
};

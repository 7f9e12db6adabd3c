import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * The conflict log (issue #6): every change whose expectation about the
 * target row did not hold, how the route's policy resolved it, and — for a
 * parked (manual) one — who decided what, and when. Nothing is deleted.
 * Unique on (route, seq): a batch retried after its target transaction
 * failed records the same conflicts again, and only the first is kept.
 */
export const conflicts: NamedMigration = {
  name: '004_conflicts',
  async up(knex: Knex) {
    await knex.schema.createTable('tributary_conflicts', (t) => {
      t.bigIncrements('id');
      t.string('route_id', 63).notNullable();
      t.bigInteger('seq').notNullable(); // the change's outbox seq
      t.string('table_name', 64).notNullable(); // source table
      t.string('op', 8).notNullable();
      t.string('kind', 16).notNullable(); // exists | mismatch | missing
      t.text('key_text').notNullable(); // canonical JSON of the target key (@tributary/model keyText)
      t.string('key_hash', 40).notNullable(); // sha1 hex of key_text
      t.string('policy', 16).notNullable(); // the resolution applied
      t.string('decision', 16).notNullable(); // applied | kept | merged | written | deleted | parked | refused (dead-lettered)
      t.text('reason').notNullable();
      // Rows in JSON-safe form (Buffers as {"$b64": base64}).
      t.text('incoming_before', 'longtext').nullable();
      t.text('incoming_after', 'longtext').nullable();
      t.text('target_row', 'longtext').nullable();
      t.text('result_row', 'longtext').nullable();
      t.text('change', 'longtext').notNullable(); // the WireChange, to re-apply a parked change
      t.string('status', 16).notNullable(); // resolved | open | resolving
      t.string('resolved_by', 255).nullable();
      t.timestamp('resolved_at', { precision: 6 }).nullable();
      t.string('resolution', 16).nullable(); // apply-source | keep-target | merge
      t.text('resolution_row', 'longtext').nullable();
      t.timestamp('created_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.unique(['route_id', 'seq']);
      t.index(['route_id', 'status']);
      t.index(['route_id', 'key_hash', 'status']);
    });
  },
  async down(knex: Knex) {
    await knex.schema.dropTableIfExists('tributary_conflicts');
  },
};

import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/**
 * Initial copies / re-syncs (one per route at a time, resumable from
 * `cursor`) and verify/repair runs (kept as a history of what was found).
 */
export const snapshotsAndVerifyRuns: NamedMigration = {
  name: '003_snapshots_and_verify_runs',
  async up(knex: Knex) {
    await knex.schema.createTable('tributary_snapshots', (t) => {
      t.string('route_id', 63).primary();
      t.string('status', 16).notNullable(); // pending | copying | catching_up | done | failed | cancelled
      t.string('reason', 16).notNullable(); // initial | resync
      t.string('requested_by', 255).nullable();
      // The key of the last row copied (JSON, @tributary/snapshot encodeKey): a new copier resumes after it.
      t.text('cursor').nullable();
      t.bigInteger('rows_copied').notNullable().defaultTo(0);
      t.integer('chunks').notNullable().defaultTo(0);
      t.bigInteger('rows_estimated').nullable();
      t.bigInteger('last_seq').nullable(); // highest outbox seq of a copy record written
      t.bigInteger('final_seq').nullable(); // outbox position when copying ended: done once the route applied it
      t.text('error').nullable();
      t.timestamp('requested_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.timestamp('started_at', { precision: 6 }).nullable();
      t.timestamp('copied_at', { precision: 6 }).nullable();
      t.timestamp('finished_at', { precision: 6 }).nullable();
      t.timestamp('updated_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
    });
    await knex.schema.createTable('tributary_verify_runs', (t) => {
      t.bigIncrements('id');
      t.string('route_id', 63).notNullable();
      t.string('kind', 8).notNullable(); // verify | repair
      t.string('status', 16).notNullable(); // running | matched | differs | repaired | failed
      t.string('requested_by', 255).nullable();
      t.bigInteger('source_rows').notNullable().defaultTo(0);
      t.bigInteger('target_rows').notNullable().defaultTo(0);
      t.bigInteger('missing').notNullable().defaultTo(0);
      t.bigInteger('extra').notNullable().defaultTo(0);
      t.bigInteger('different').notNullable().defaultTo(0);
      t.bigInteger('repaired').notNullable().defaultTo(0);
      t.text('sample', 'longtext').nullable(); // JSON: the first differences found, with both rows
      t.text('error').nullable();
      t.timestamp('started_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.timestamp('finished_at', { precision: 6 }).nullable();
      t.index(['route_id', 'id']);
    });
  },
  async down(knex: Knex) {
    await knex.schema.dropTableIfExists('tributary_verify_runs');
    await knex.schema.dropTableIfExists('tributary_snapshots');
  },
};

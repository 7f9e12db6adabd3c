import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';

/** The control schema: configuration (changed only through admin) and replication progress. */
export const controlSchema: NamedMigration = {
  name: '001_control_schema',
  async up(knex: Knex) {
    await knex.schema.createTable('tributary_sources', (t) => {
      t.string('id', 63).primary();
      t.text('url').notNullable(); // secret: never returned or logged unredacted
      t.timestamp('created_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
    });
    await knex.schema.createTable('tributary_table_schemas', (t) => {
      t.string('source_id', 63).notNullable();
      t.string('table_name', 64).notNullable();
      t.string('hash', 32).notNullable();
      t.text('spec', 'longtext').notNullable(); // TableSchema as JSON
      t.timestamp('created_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.primary(['source_id', 'table_name', 'hash']);
    });
    await knex.schema.createTable('tributary_tables', (t) => {
      t.string('source_id', 63).notNullable();
      t.string('table_name', 64).notNullable();
      t.string('schema_hash', 32).notNullable();
      t.timestamp('installed_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.primary(['source_id', 'table_name']);
    });
    await knex.schema.createTable('tributary_targets', (t) => {
      t.string('id', 63).primary();
      t.string('kind', 32).notNullable();
      t.text('url').notNullable(); // secret
      t.text('options').nullable(); // JSON
      t.timestamp('created_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
    });
    await knex.schema.createTable('tributary_routes', (t) => {
      t.string('id', 63).primary();
      t.string('source_id', 63).notNullable();
      t.string('table_name', 64).notNullable();
      t.string('target_id', 63).notNullable();
      t.string('target_table', 64).notNullable();
      t.boolean('enabled').notNullable().defaultTo(true);
      t.timestamp('created_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.timestamp('updated_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.index(['source_id', 'table_name']);
    });
    await knex.schema.createTable('tributary_relay_state', (t) => {
      t.string('source_id', 63).primary();
      // Fencing token: bumped by each relay that becomes leader; a checkpoint
      // write with an older epoch is refused, so a deposed relay cannot move it.
      t.bigInteger('epoch').notNullable().defaultTo(0);
      t.bigInteger('watermark').notNullable().defaultTo(0);
      t.bigInteger('high').notNullable().defaultTo(0);
      t.text('holes', 'longtext').notNullable(); // JSON HoleState[]
      t.string('leader', 255).nullable();
      t.timestamp('updated_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
    });
    await knex.schema.createTable('tributary_route_progress', (t) => {
      t.string('route_id', 63).primary();
      // A copy of the target's checkpoint, written after the target commits:
      // never ahead of the truth, so safe to rewind to after Redis loses data.
      t.bigInteger('watermark').notNullable().defaultTo(0);
      t.bigInteger('max_seq').notNullable().defaultTo(0);
      t.bigInteger('applied_total').notNullable().defaultTo(0);
      t.bigInteger('last_change_ts').nullable(); // microseconds, capture time of the last applied change
      t.timestamp('last_applied_at', { precision: 6 }).nullable();
      t.text('last_error').nullable();
      t.timestamp('last_error_at', { precision: 6 }).nullable();
      t.timestamp('updated_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
    });
    await knex.schema.createTable('tributary_dead_letters', (t) => {
      t.bigIncrements('id');
      t.string('route_id', 63).notNullable();
      t.bigInteger('seq').notNullable();
      t.string('table_name', 64).notNullable();
      t.string('op', 8).notNullable();
      t.text('change', 'longtext').notNullable(); // JSON of the change as the target saw it
      t.text('reason').notNullable();
      t.string('code', 32).nullable();
      t.timestamp('created_at', { precision: 6 }).notNullable().defaultTo(knex.fn.now(6));
      t.unique(['route_id', 'seq']);
    });
  },
  async down(knex: Knex) {
    for (const table of [
      'tributary_dead_letters',
      'tributary_route_progress',
      'tributary_relay_state',
      'tributary_routes',
      'tributary_targets',
      'tributary_tables',
      'tributary_table_schemas',
      'tributary_sources',
    ]) {
      await knex.schema.dropTableIfExists(table);
    }
  },
};

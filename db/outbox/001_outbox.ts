import { Knex } from 'knex';
import { NamedMigration } from '../migration-source';
import { OUTBOX_TABLE } from './shape';

/**
 * The outbox lives in each source database, so triggers write it in the
 * writer's own transaction. Insert-only for writers; the relay reads it in
 * seq order and the purger deletes from the low end.
 */
export const outboxTable: NamedMigration = {
  name: '001_outbox',
  async up(knex: Knex) {
    await knex.raw(`
      CREATE TABLE IF NOT EXISTS \`${OUTBOX_TABLE}\` (
        \`seq\` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        \`table_name\` VARCHAR(64) NOT NULL,
        \`op\` ENUM('insert','update','delete') NOT NULL,
        \`pk\` LONGTEXT NOT NULL,
        \`before_image\` LONGTEXT NULL,
        \`after_image\` LONGTEXT NULL,
        \`origin\` VARCHAR(255) NULL,
        \`ts\` BIGINT NOT NULL,
        \`schema_hash\` VARCHAR(32) NOT NULL,
        PRIMARY KEY (\`seq\`)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  },
  async down(knex: Knex) {
    await knex.raw(`DROP TABLE IF EXISTS \`${OUTBOX_TABLE}\``);
  },
};

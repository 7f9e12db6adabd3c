import { Knex } from 'knex';

export interface NamedMigration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are imported, not discovered on disk, so the same list runs from
 * TypeScript (tests) and from the compiled dist/ (production) alike.
 */
export class StaticMigrationSource implements Knex.MigrationSource<NamedMigration> {
  constructor(private readonly migrations: NamedMigration[]) {}
  async getMigrations(): Promise<NamedMigration[]> {
    return this.migrations;
  }
  getMigrationName(migration: NamedMigration): string {
    return migration.name;
  }
  async getMigration(migration: NamedMigration): Promise<Knex.Migration> {
    return migration;
  }
}

import { TableSchema } from '@tributary/model';
import { PostgresTarget } from '@tributary/targets';
import { BenchDatabase } from './support';

/**
 * Creates target tables before the apps start, exactly as the worker would
 * (the PostgreSQL target's own ensureTable, with the captured schema and no
 * mapping, as in route-plan.ts), so the bench can put its probe trigger on
 * them up front. The worker's own ensureTable then finds them in shape.
 */
export async function createTargetTables(postgres: BenchDatabase, tables: ReadonlyArray<{ name: string; schema: TableSchema }>): Promise<void> {
  const target = new PostgresTarget({ kind: 'postgres', url: postgres.url, options: {} });
  try {
    for (const { name, schema } of tables) await target.ensureTable({ name, columns: schema.columns, key: schema.key });
  } finally {
    await target.close();
  }
}

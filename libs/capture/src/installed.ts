import { TRIGGER_PREFIX } from './names';
import { Query } from './sql';

/** Our triggers (by prefix) on `table`, as information_schema lists them. */
export async function capturedTriggers(query: Query, table: string): Promise<Array<{ name: string; body: string }>> {
  const rows = await query<{ name: string; table: string; body: string }>(
    `SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS \`table\`, ACTION_STATEMENT AS body
       FROM information_schema.TRIGGERS
      WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ?`,
    [table],
  );
  // information_schema compares without regard to case; trigger and table names do not.
  return rows.filter((row) => row.table === table && row.name.startsWith(TRIGGER_PREFIX)).map(({ name, body }) => ({ name, body }));
}

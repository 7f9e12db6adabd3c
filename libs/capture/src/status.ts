import { Knex } from 'knex';
import { capturedTriggers } from './installed';
import { readSchema } from './introspect';
import { queryOn } from './sql';
import { CascadeGraph, readCascadeGraph } from './cascade-triggers';
import { expectedTriggers } from './install';

export interface CaptureStatus {
  /** At least one of our triggers is on the table. */
  installed: boolean;
  /** Schema hash the installed triggers write (the insert trigger's, if present), or null if none is installed. */
  installedHash: string | null;
  /** Hash of the table as it is now. */
  currentHash: string;
  /**
   * Installed, but not exactly what installCapture would install now: a
   * trigger missing or extra, or a body that differs (the schema changed, or
   * this version of Tributary generates different SQL). Re-install to fix.
   */
  drifted: boolean;
  /** Names of our triggers on the table, sorted. */
  triggers: string[];
}

/** The source database's foreign keys and captured tables, read once for captureStatus and cascadeWarnings of many tables. */
export function cascadeGraph(knex: Knex): Promise<CascadeGraph> {
  return readCascadeGraph(queryOn(knex));
}

/** The hash literal our trigger bodies end with. */
const HASH_AT_END = /'([0-9a-f]{1,32})'\)$/;

/**
 * Compares the capture triggers installed on `table` with what its current
 * schema needs. A table whose columns changed since install is `drifted`:
 * added columns are not captured, and a dropped or renamed one makes every
 * write to the table fail until capture is re-installed.
 *
 * @throws CaptureError if the table cannot be captured as it is now (see introspectTable).
 */
export async function captureStatus(knex: Knex, table: string, graph?: CascadeGraph): Promise<CaptureStatus> {
  const query = queryOn(knex);
  const schema = await readSchema(query, table);
  // `graph`: the foreign keys and captured tables read once for a check of many tables (readCascadeGraph).
  const expected = await expectedTriggers(query, schema, graph);
  const installed = await capturedTriggers(query, table);
  const bodyOf = (name: string) => installed.find((trigger) => trigger.name === name)?.body.trim();
  const exact = installed.length === expected.length && expected.every((trigger) => bodyOf(trigger.name) === trigger.body);
  // Expected names first (insert trigger first), then strays such as triggers a RENAME TABLE carried over.
  const ordered = [...expected.map((trigger) => bodyOf(trigger.name)), ...installed.map((trigger) => trigger.body.trim())];
  const hashes = ordered.map((body) => HASH_AT_END.exec(body ?? '')?.[1]).filter((hash): hash is string => hash !== undefined);
  return {
    installed: installed.length > 0,
    installedHash: hashes[0] ?? null,
    currentHash: schema.hash,
    drifted: installed.length > 0 && !exact,
    triggers: installed.map((trigger) => trigger.name).sort(),
  };
}

import { randomBytes } from 'node:crypto';
import { RESERVED_TABLE_PREFIX } from '@tributary/db';
import { quoteMysql, TableSchema } from '@tributary/model';
import { ColumnFacts, readFilledWhenAdded, tableHasRows } from './column-facts';
import { CaptureError } from './errors';
import { readShape } from './introspect';
import { errorMessage } from './session';
import { Query } from './sql';

/**
 * What an ALTER of a captured table will do, found out before it runs.
 * MariaDB cannot roll DDL back, so an ALTER that leaves the table without a
 * key capture can use (`DROP PRIMARY KEY`), or with another key than the one
 * its routes' target tables are keyed by, must be refused before it touches
 * the table: afterwards the table would be stuck with its old triggers and
 * every write to it captured wrongly or failing.
 *
 * The ALTER runs first on an empty copy (`CREATE TABLE … LIKE`: the same
 * columns, keys and indexes, no rows, no triggers, no foreign keys), named
 * `_tributary_alter_<random>` and dropped at once; its shape is read as
 * capture reads the real table's.
 *
 * @returns the copy's shape after the ALTER (one capture carries, with the same key) and its column facts (defaults;
 *   hasRows is the real table's); 'unknown' if the copy could not be made or altered (e.g. no CREATE privilege, or the ALTER names a foreign
 *   key, which the copy lacks): the caller runs the real ALTER and checks afterwards.
 * @throws CaptureError saying why the ALTER is refused (nothing was changed).
 */
export async function probeAlter(query: Query, table: string, clauses: string, current: TableSchema): Promise<ProbedAlter | 'unknown'> {
  const probe = `${RESERVED_TABLE_PREFIX}alter_${randomBytes(6).toString('hex')}`;
  try {
    await query(`CREATE TABLE ${quoteMysql(probe)} LIKE ${quoteMysql(table)}`);
  } catch {
    return 'unknown';
  }
  let outcome: ProbedAlter | 'unknown';
  try {
    outcome = await judgeOnCopy(query, table, probe, clauses, current);
  } catch (refusal) {
    // The refusal is what the caller needs; a copy that cannot be dropped as well is harmless
    // (reserved name, no rows, no triggers) and surfaces at the next ALTER.
    await query(`DROP TABLE IF EXISTS ${quoteMysql(probe)}`).catch(() => undefined);
    throw refusal;
  }
  try {
    await query(`DROP TABLE IF EXISTS ${quoteMysql(probe)}`);
  } catch (error) {
    throw new CaptureError(`ALTER TABLE ${table} not run: the scratch table ${probe} used to check it could not be dropped: ${errorMessage(error)}; drop it by hand`);
  }
  return outcome;
}

/** The table as an ALTER tried on its empty copy leaves it. */
export interface ProbedAlter {
  after: TableSchema;
  facts: ColumnFacts;
}

/** Runs the ALTER on the copy and judges its shape; see probeAlter. */
async function judgeOnCopy(query: Query, table: string, probe: string, clauses: string, current: TableSchema): Promise<ProbedAlter | 'unknown'> {
  try {
    await query(`ALTER TABLE ${quoteMysql(probe)} ${clauses}`);
  } catch {
    return 'unknown';
  }
  let after: TableSchema;
  try {
    after = await readShape(query, probe);
  } catch (error) {
    if (!(error instanceof CaptureError)) throw error;
    throw new CaptureError(`ALTER TABLE ${table} refused, the table is unchanged: capture could not carry the result: ${error.message.split(probe).join(table)}`);
  }
  if (after.key.join(',') !== current.key.join(',')) {
    throw new CaptureError(
      `ALTER TABLE ${table} refused, the table is unchanged: it would change the key capture uses from (${current.key.join(', ')}) ` +
        `to (${after.key.join(', ')}), and every route's target table is keyed by it. To change a key, create the table anew and route it with an initial copy`,
    );
  }
  return { after: { ...after, table }, facts: { filledWhenAdded: await readFilledWhenAdded(query, probe), hasRows: await tableHasRows(query, table) } };
}

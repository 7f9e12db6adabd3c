import { MAX_PARTITIONS, orList, TableSchema, TargetTableSpec } from '@tributary/model';
import { compileFilter, compileMapping, ConflictPolicyError, FilterError, MappingError, parseConflictPolicy, targetTableSpec } from '@tributary/replication';
import { isTransactional, RouteRecord, TargetRecord } from '@tributary/control';
import { InvalidInputError } from './errors';

/** Longest filter text accepted: a filter is a condition, not a program. */
export const MAX_FILTER_LENGTH = 2000;

/**
 * Checks a route's filter and mapping (as sent: any JSON) against the
 * captured schema of its table, exactly as the worker will compile them, and
 * returns them normalised with the target table the route will write.
 *
 * @throws InvalidInputError in field `filter` or `mapping`, saying where and why.
 */
export function checkRouteRules(
  input: { filter: unknown; mapping: unknown; targetTable: string },
  schema: TableSchema,
): { filter: string | null; mapping: Record<string, unknown> | null; spec: TargetTableSpec } {
  const filter = input.filter === undefined || input.filter === null ? null : input.filter;
  if (filter !== null) {
    if (typeof filter !== 'string') throw new InvalidInputError('filter: must be a string, e.g. "region in (\'EU\') and amount >= 100", or null', 'filter');
    if (filter.length > MAX_FILTER_LENGTH) throw new InvalidInputError(`filter: at most ${MAX_FILTER_LENGTH} characters (got ${filter.length})`, 'filter');
    try {
      compileFilter(filter, schema.columns);
    } catch (error) {
      if (error instanceof FilterError) throw new InvalidInputError(`filter: ${error.message}`, 'filter');
      throw error;
    }
  }
  const mapping = input.mapping === undefined || input.mapping === null ? null : input.mapping;
  let spec: TargetTableSpec = targetTableSpec(input.targetTable, schema, null);
  if (mapping !== null) {
    try {
      spec = targetTableSpec(input.targetTable, schema, compileMapping(mapping, schema.columns, schema.key));
    } catch (error) {
      if (error instanceof MappingError) throw new InvalidInputError(`mapping: ${error.message}`, 'mapping');
      throw error;
    }
  }
  return { filter: filter as string | null, mapping: mapping as Record<string, unknown> | null, spec };
}

/**
 * Checks a route's conflict policy (as sent: any JSON) against the captured
 * schema and the target's kind (`conflictKinds`: the kinds that can detect
 * conflicts, TargetRegistry.conflictKinds); returns it normalised (defaults
 * filled in), or null for none.
 *
 * @throws InvalidInputError in field `conflictPolicy`, saying which part and why.
 */
export function checkConflictPolicy(
  value: unknown,
  schema: TableSchema,
  targetKind: string,
  conflictKinds: readonly string[],
): Record<string, unknown> | null {
  let policy;
  try {
    policy = parseConflictPolicy(value, schema.columns);
  } catch (error) {
    if (error instanceof ConflictPolicyError) throw new InvalidInputError(`conflictPolicy.${error.message}`, 'conflictPolicy');
    throw error;
  }
  if (policy === null) return null;
  if (!conflictKinds.includes(targetKind)) {
    throw new InvalidInputError(
      `conflictPolicy: a ${targetKind} target cannot detect conflicts (its rows cannot be read and locked with the write); use a ${orList(conflictKinds)} target`,
      'conflictPolicy',
    );
  }
  return { ...policy };
}

/**
 * A route's number of partitions (absent: 1). A conflict policy compares each
 * change with what the route's previous change of the row left at the target,
 * which needs every change of a row in one ordered stream, key moves
 * included: the two are not combined.
 */
export function checkPartitions(value: unknown, conflictPolicy: Record<string, unknown> | null | undefined): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PARTITIONS) {
    throw new InvalidInputError(`partitions: must be a whole number from 1 to ${MAX_PARTITIONS}, got ${JSON.stringify(value)}`, 'partitions');
  }
  if (value > 1 && conflictPolicy) {
    throw new InvalidInputError(
      'partitions: a route with a conflict policy cannot be partitioned (conflict detection needs every change of a row in one ordered stream); ' +
        'remove the conflict policy or keep partitions at 1',
      'partitions',
    );
  }
  return value;
}

/**
 * A transactional target (issue #15) applies all its routes of a source as
 * one ordered stream, every job in one target transaction: a route into it
 * is not partitioned (that would split the stream) and has no conflict
 * policy (a parked or dead-lettered row would publish the rest of its
 * transaction; not built yet).
 */
export function checkTransactionalRoute(route: Pick<RouteRecord, 'id' | 'partitions' | 'conflictPolicy'>, target: TargetRecord): void {
  if (!isTransactional(target)) return;
  const field = (route.partitions ?? 1) > 1 ? 'partitions' : route.conflictPolicy ? 'conflictPolicy' : null;
  if (field === null) return;
  throw new InvalidInputError(
    `${field}: target ${target.id} is transactional (whole source transactions in one target transaction), so route ${route.id} into it can have ` +
      `${field === 'partitions' ? 'no partitions' : 'no conflict policy'}; remove it, or turn the target's option transactional off`,
    field,
  );
}

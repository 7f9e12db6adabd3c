import { CatalogRepository, RouteRecord, SnapshotRecord, SnapshotRepository, TargetRecord } from '@tributary/control';
import { TableSchema } from '@tributary/model';
import { keyedBySource, RouteMapping } from '@tributary/replication';
import { TargetConfigError, TransientTargetError } from '@tributary/targets';
import { CaptureSetup } from './capture-setup';
import { checkName, checkTableName, ConflictError, InvalidInputError, NotFoundError, reasonOf, SetupError, UnavailableError } from './errors';
import { initialCopyOf, InitialCopy } from './initial-copy';
import { checkConflictPolicy, checkPartitions, checkRouteRules, checkTransactionalRoute } from './route-rules';
import { scrub, secretsOf } from './secrets';
import { countRows, withSource } from './source-database';
import { SourceSetup } from './source-setup';
import { TargetSetup } from './target-setup';

/** A new route as asked for; the slots for later features arrive as whatever JSON was sent. */
export interface RouteInput {
  id: string;
  sourceId: string;
  table: string;
  targetId: string;
  /** Default: the source table's name. */
  targetTable?: string;
  /** Default: true. */
  enabled?: boolean;
  /** Row filter text (see @tributary/replication), or null for every row. */
  filter?: unknown;
  /** Column mapping (RouteMapping of @tributary/replication), or null for columns as at the source. */
  mapping?: unknown;
  conflictPolicy?: unknown;
  /** Copy the rows the table already has (an initial copy). Default: true. */
  initialCopy?: boolean;
  /** Write a target table that a route of another table of the same source writes too (see checkNoClash). */
  shareTargetTable?: boolean;
  /** Partitions by key hash, applied side by side (default 1; see checkPartitions). */
  partitions?: unknown;
  /** Pass on only the application's own writes (RouteSelector.localOnly). Default false. */
  localOnly?: boolean;
  /** What the target does with a column the source drops: 'keep' (default) or 'drop'. */
  droppedColumns?: unknown;
}

/** What can change on an existing route; for filter, mapping and conflict policy, null clears. */
export interface RouteUpdate {
  enabled?: boolean;
  targetTable?: string;
  /** With a new targetTable: as RouteInput.shareTargetTable. */
  shareTargetTable?: boolean;
  filter?: unknown;
  mapping?: unknown;
  conflictPolicy?: unknown;
  /** A new number of partitions: each new partition starts where the old ones had all got to. */
  partitions?: unknown;
  localOnly?: boolean;
  droppedColumns?: unknown;
}

/**
 * After a changed filter or mapping: a filter applies to changes from now on,
 * so rows already at the target follow the new rules only after a re-sync.
 */
export interface Resync {
  /** Always true since issue #5: POST /api/routes/{id}/resync. */
  available: boolean;
  message: string;
}

/**
 * Routes: one captured source table into one target table. Everything a
 * route names is checked on the way in (invariant 8), including that the
 * target table, if it exists, can take the source's rows.
 */
export class RouteSetup {
  constructor(
    private readonly catalog: CatalogRepository,
    private readonly sources: SourceSetup,
    private readonly capture: CaptureSetup,
    private readonly targets: TargetSetup,
    private readonly snapshots: SnapshotRepository,
  ) {}

  /**
   * @param opts.beforeInsert runs once every check passed, just before the route is stored
   *   (the admin clears what a deleted route of the same id may have left in Redis).
   * @returns the route and what happens to the rows the table already has.
   * @throws InvalidInputError naming the field (bad id or table name, unknown source, table or target,
   *   a feature not built yet, a target table that cannot take the rows), ConflictError (id taken, or the
   *   target table is written by another route), UnavailableError (the target cannot be reached to check it).
   */
  async create(input: RouteInput, opts: { beforeInsert?: (route: RouteRecord) => Promise<void> } = {}): Promise<{ route: RouteRecord; initialCopy: InitialCopy }> {
    const route = await this.check(input);
    if (await this.catalog.getRoute(route.id)) throw new ConflictError(`route ${route.id} already exists`, 'id');
    await this.checkTargetTable(route);
    const rows = await this.sourceRows(route);
    // Even an empty table is copied: a row inserted between this count and the route going live is not lost.
    const copy = input.initialCopy !== false;
    await opts.beforeInsert?.(route);
    if (!(await this.catalog.insertRoute(route))) throw new ConflictError(`route ${route.id} already exists`, 'id');
    // After the insert: the copier only looks at snapshots of routes that exist.
    if (copy) await this.snapshots.request(route.id, 'initial', null);
    return { route, initialCopy: initialCopyOf(route.table, rows.rows, rows.exact, copy) };
  }

  /** Adds or replaces a route without looking at the target (scripts and the demo: safe to run again). */
  async ensure(input: RouteInput): Promise<void> {
    await this.catalog.upsertRoute(await this.check(input));
  }

  async list(): Promise<RouteRecord[]> {
    return this.catalog.listRoutes();
  }

  /** @throws NotFoundError */
  async get(id: string): Promise<RouteRecord> {
    const route = await this.catalog.getRoute(id);
    if (!route) throw new NotFoundError(`route ${id} does not exist`, 'routeId');
    return route;
  }

  /**
   * Pauses or resumes a route, or points it at another table of its target
   * (which then receives changes from now on). Takes effect in the running
   * workers on their next configuration refresh.
   *
   * A new filter or mapping is checked like on create and applies to changes
   * from now on; changing it never needs a reset.
   *
   * @returns the route; for a new target table what happens to the rows the source already has;
   *   for a new filter or mapping whether the rows already at the target can be re-synced.
   * @throws NotFoundError, InvalidInputError, ConflictError, UnavailableError (as create).
   */
  async update(id: string, changes: RouteUpdate): Promise<{ route: RouteRecord; initialCopy: InitialCopy | null; resync: Resync | null }> {
    // A new target table starts empty; the rows it misses come with a re-sync, asked for below once the route points at it.
    const current = await this.get(id);
    const { filter, mapping, conflictPolicy, shareTargetTable, partitions, droppedColumns, ...plain } = changes;
    let route: RouteRecord = { ...current, ...definedOnly(plain) };
    if (droppedColumns !== undefined) route = { ...route, droppedColumns: checkDroppedColumns(droppedColumns) };
    let initialCopy: InitialCopy | null = null;
    const tableChanged = route.targetTable !== current.targetTable;
    if (tableChanged) checkTableName('targetTable', route.targetTable);
    if (filter !== undefined || mapping !== undefined) {
      const rules = checkRouteRules(
        { filter: filter === undefined ? current.filter : filter, mapping: mapping === undefined ? current.mapping : mapping, targetTable: route.targetTable },
        await this.capturedSchema(route),
      );
      route = { ...route, filter: rules.filter, mapping: rules.mapping };
    }
    if (conflictPolicy !== undefined) {
      const target = await this.targets.require(route.targetId);
      route = { ...route, conflictPolicy: checkConflictPolicy(conflictPolicy, await this.capturedSchema(route), target.kind, this.targets.conflictKinds()) };
    }
    route = { ...route, partitions: checkPartitions(partitions === undefined ? current.partitions : partitions, route.conflictPolicy) };
    checkTransactionalRoute(route, await this.targets.require(route.targetId));
    const policyChanged = JSON.stringify(route.conflictPolicy ?? null) !== JSON.stringify(current.conflictPolicy ?? null);
    const filterChanged = (route.filter ?? null) !== (current.filter ?? null);
    const mappingChanged = JSON.stringify(route.mapping ?? null) !== JSON.stringify(current.mapping ?? null);
    // A new table, new partitions or a new mapping (its source key column) may change who can share the table.
    if (tableChanged || mappingChanged || route.partitions !== (current.partitions ?? 1)) {
      // Only a new table or a new mapping (its source key column) asks again whether rows may be shared.
      await this.checkNoClash(route, { shareTargetTable: tableChanged || mappingChanged ? shareTargetTable : true });
    }
    if (tableChanged || mappingChanged) await this.checkTargetTable(route);
    const rows = tableChanged ? await this.sourceRows(route) : null;
    await this.catalog.updateRoute(id, {
      enabled: route.enabled,
      targetTable: route.targetTable,
      ...(filterChanged ? { filter: route.filter ?? null } : {}),
      ...(mappingChanged ? { mapping: route.mapping ?? null } : {}),
      ...(policyChanged ? { conflictPolicy: route.conflictPolicy ?? null } : {}),
      ...(route.partitions !== (current.partitions ?? 1) ? { partitions: route.partitions } : {}),
      ...(route.localOnly !== (current.localOnly ?? false) ? { localOnly: route.localOnly } : {}),
      ...(route.droppedColumns !== (current.droppedColumns ?? 'keep') ? { droppedColumns: route.droppedColumns } : {}),
    });
    if (rows) {
      const copy = await this.snapshots.request(id, 'initial', null);
      initialCopy = initialCopyOf(route.table, rows.rows, rows.exact, copy);
    }
    return { route, initialCopy, resync: filterChanged || mappingChanged ? resyncOf(filterChanged, mappingChanged) : null };
  }

  /** @throws NotFoundError */
  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.catalog.deleteRoute(id);
  }

  /** Validates everything that needs only the configuration; returns the route with defaults filled in. */
  private async check(input: RouteInput): Promise<RouteRecord> {
    checkName('id', input.id);
    checkTableName('table', input.table);
    const targetTable = input.targetTable ?? input.table;
    checkTableName('targetTable', targetTable);
    await asInput('sourceId', () => this.sources.require(input.sourceId));
    await asInput('table', () => this.capture.requireCaptured(input.sourceId, input.table));
    const target = await asInput('targetId', () => this.targets.require(input.targetId));
    const base = { sourceId: input.sourceId, table: input.table };
    // Checked against the captured schema, exactly as the worker compiles them (invariant 8).
    const schema = await this.capturedSchema(base);
    const rules = checkRouteRules({ filter: input.filter, mapping: input.mapping, targetTable }, schema);
    const conflictPolicy = checkConflictPolicy(input.conflictPolicy, schema, target.kind, this.targets.conflictKinds());
    const route: RouteRecord = {
      id: input.id,
      sourceId: input.sourceId,
      table: input.table,
      targetId: input.targetId,
      targetTable,
      enabled: input.enabled ?? true,
      filter: rules.filter,
      mapping: rules.mapping,
      conflictPolicy,
      partitions: checkPartitions(input.partitions, conflictPolicy),
      localOnly: input.localOnly ?? false,
      droppedColumns: checkDroppedColumns(input.droppedColumns),
    };
    checkTransactionalRoute(route, target);
    await this.checkNoClash(route, { shareTargetTable: input.shareTargetTable });
    return route;
  }

  /**
   * Who may write one target table. Each target row carries the seq of the
   * change that last wrote it (invariant 4), and seqs of two sources are
   * unrelated. Several sources may write one table:
   * - when their rows can never share a key: every route into it has the
   *   same computed key column of value `source` (fan-in; each row has one
   *   source, so its guard is exact as with one source);
   * - otherwise, asked for with `shareTargetTable: true`, into a target that
   *   keeps a version per source (ApplyBatch.versions: each source's replays
   *   stay harmless, and different sources' changes of a row apply as they
   *   arrive or as the conflict policy decides).
   *
   * Two tables of one source into one target table share a seq space, so
   * the guards hold; but rows of the two with the same key overwrite each
   * other (one table's row takes the other's values). That is refused
   * unless the request says `shareTargetTable: true`: the keys never collide
   * (e.g. ranges per shard), or merging by key is what the user wants.
   * A partitioned route shares its table with no other route (its
   * partitions write their own keys side by side).
   */
  private async checkNoClash(route: RouteRecord, opts: { shareTargetTable?: boolean }): Promise<void> {
    const others = (await this.catalog.listRoutes()).filter(
      (other) => other.id !== route.id && other.targetId === route.targetId && other.targetTable === route.targetTable,
    );
    const where = `table ${route.targetTable} of target ${route.targetId}`;
    const foreign = others.find((other) => other.sourceId !== route.sourceId);
    if (foreign && !keyedBySource([route, ...others].map((r) => r.mapping as RouteMapping | null))) {
      // Rows of several sources may share a key: the target keeps a version per source (ApplyBatch.versions).
      const target = await this.targets.require(route.targetId);
      if (!this.targets.sourceVersionKinds().includes(target.kind)) {
        throw new ConflictError(
          `route ${foreign.id} already writes ${where} from source ${foreign.sourceId}; a ${target.kind} target keeps one version per row, so ` +
            'several sources may write one of its tables only when their rows can never share a key: give every route into it the same ' +
            'computed key column of value source, e.g. mapping.computed [{"name": "source_id", "value": "source", "key": true}]',
          'targetTable',
        );
      }
      if (opts.shareTargetTable !== true) {
        throw new ConflictError(
          `route ${foreign.id} already writes ${where} from source ${foreign.sourceId}: a row of one source would be replaced by the row of ` +
            'another with the same key (the newest change of a row wins, or the conflict policy decides; each source\'s own replays stay ' +
            'harmless). If that is what you want, ask again with shareTargetTable: true; to keep the rows of each source apart, give every ' +
            'route into the table the same computed key column of value source, e.g. mapping.computed [{"name": "source_id", "value": "source", "key": true}]',
          'targetTable',
        );
      }
    }
    const ours = others.filter((other) => other.sourceId === route.sourceId);
    const twin = ours.find((other) => other.table === route.table);
    if (twin) throw new ConflictError(`route ${twin.id} already replicates ${route.sourceId}.${route.table} into ${where}`, 'targetTable');
    const partitioned = [route, ...others].find((r) => (r.partitions ?? 1) > 1);
    const other = others[0];
    if (other && partitioned) {
      // Partitions write their own keys of the table side by side (ApplyBatch.partition); another route's rows could be any key.
      throw new ConflictError(
        `route ${other.id} already writes ${where}, and route ${partitioned.id} is partitioned: a partitioned route cannot share its target table`,
        partitioned === route ? 'partitions' : 'targetTable',
      );
    }
    const sibling = ours[0];
    if (sibling && opts.shareTargetTable !== true) {
      throw new ConflictError(
        `route ${sibling.id} already writes ${where} from ${sibling.sourceId}.${sibling.table}: a row of ${route.table} would overwrite the row of ` +
          `${sibling.table} with the same key, and the other way round. If their keys never collide, or merging by key is what you want, ` +
          'ask again with shareTargetTable: true',
        'targetTable',
      );
    }
  }

  private async capturedSchema(route: { sourceId: string; table: string }): Promise<TableSchema> {
    const captured = await this.catalog.getCapturedTable(route.sourceId, route.table);
    const schema = captured && (await this.catalog.getSchema(route.sourceId, route.table, captured.schemaHash));
    if (!schema) throw new SetupError(`the captured schema of ${route.sourceId}.${route.table} is missing; capture the table again`, 'table');
    return schema;
  }

  /**
   * If the target table exists, its key must be the key of the table the
   * route writes — after mapping (ensureTable would refuse it otherwise).
   */
  private async checkTargetTable(route: RouteRecord): Promise<void> {
    const schema = await this.capturedSchema(route);
    const { spec } = checkRouteRules({ filter: route.filter, mapping: route.mapping, targetTable: route.targetTable }, schema);
    const target = await this.targets.require(route.targetId);
    const problems = await this.targets
      .use(target, (live) => live.checkTable(spec))
      .catch((error: unknown) => {
        throw unreachableTarget(target, route.targetTable, error);
      });
    if (problems.length > 0) {
      throw new InvalidInputError(`targetTable: the existing table does not fit the source table ${route.table}: ${problems.join('; ')}`, 'targetTable');
    }
  }

  /**
   * Copies the route's source rows again through the normal apply path (a
   * re-sync: after a filter or mapping change, or to repair a target
   * wholesale). Rows that no longer match the filter are deleted at the
   * target as they are met; rows at the target whose key the source no
   * longer has are found by verify and removed by repair.
   *
   * @throws NotFoundError, ConflictError (a copy is still running for the route).
   */
  async resync(id: string, requestedBy: string | null): Promise<SnapshotRecord> {
    await this.get(id);
    if (!(await this.snapshots.request(id, 'resync', requestedBy))) {
      throw new ConflictError(`route ${id} already has an initial copy or re-sync running; cancel it first (DELETE /api/routes/${id}/snapshot)`, 'routeId');
    }
    return (await this.snapshots.get(id))!;
  }

  /** @throws NotFoundError (no route, or it never had a copy). */
  async snapshot(id: string): Promise<SnapshotRecord> {
    await this.get(id);
    const snapshot = await this.snapshots.get(id);
    if (!snapshot) throw new NotFoundError(`route ${id} has had no initial copy or re-sync`, 'routeId');
    return snapshot;
  }

  /** Stops a running copy; rows already copied stay. @throws NotFoundError, ConflictError (nothing running). */
  async cancelSnapshot(id: string, by: string | null): Promise<SnapshotRecord> {
    const snapshot = await this.snapshot(id);
    if (!(await this.snapshots.cancel(id, by))) throw new ConflictError(`the copy of route ${id} is ${snapshot.status}, not running`, 'routeId');
    return (await this.snapshots.get(id))!;
  }

  /** Counting is only information: a source that does not answer leaves the count unknown. */
  private async sourceRows(route: RouteRecord): Promise<{ rows: number | null; exact: boolean }> {
    const source = await this.sources.require(route.sourceId);
    try {
      return await withSource(source, (knex) => countRows(knex, route.table));
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      return { rows: null, exact: false };
    }
  }
}

/** A referenced thing that does not exist is bad input in the field that names it. */
async function asInput<T>(field: string, lookup: () => Promise<T>): Promise<T> {
  try {
    return await lookup();
  } catch (error) {
    if (error instanceof NotFoundError) throw new InvalidInputError(error.message, field);
    throw error;
  }
}

function unreachableTarget(target: TargetRecord, table: string, error: unknown): unknown {
  if (error instanceof TargetConfigError) return new InvalidInputError(scrub(error.message, secretsOf(target.url, target.options)), 'targetTable');
  if (!(error instanceof TransientTargetError)) return error;
  const reason = scrub(reasonOf(error), secretsOf(target.url, target.options));
  return new UnavailableError(`target ${target.id} is unreachable, so table ${table} could not be checked: ${reason}`, 'targetId');
}

/** A route's droppedColumns setting (undefined: keep). @throws InvalidInputError */
function checkDroppedColumns(value: unknown): 'keep' | 'drop' {
  if (value === undefined || value === null) return 'keep';
  if (value === 'keep' || value === 'drop') return value;
  throw new InvalidInputError(`droppedColumns must be "keep" or "drop", not ${JSON.stringify(value)}`, 'droppedColumns');
}

function resyncOf(filterChanged: boolean, mappingChanged: boolean): Resync {
  const what = filterChanged && mappingChanged ? 'filter and mapping apply' : filterChanged ? 'filter applies' : 'mapping applies';
  return {
    available: true,
    message:
      `The new ${what} to changes from now on. Rows already at the target follow it after a re-sync: POST /api/routes/{id}/resync ` +
      '(then verify: POST /api/routes/{id}/verify).',
  };
}

function definedOnly<T extends object>(changes: T): Partial<T> {
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as Partial<T>;
}


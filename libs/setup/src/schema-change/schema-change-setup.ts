import { Knex } from 'knex';
import {
  adoptTableRename,
  alterCapturedTable,
  AlterWitness,
  cascadeWarnings,
  checkRenamable,
  installCapture,
  introspectTable,
  previewAlter,
  renameCapturedTable,
  renamedBehindBack,
  RenameOptions,
  tableColumnFacts,
  tableRenameOf,
  validateAlterSpec,
} from '@tributary/capture';
import { CatalogRepository, RouteRecord, SourceRecord, TableNameTakenError } from '@tributary/control';
import { ColumnRename, TableSchema, validateIdentifier } from '@tributary/model';
import { asInvalid, CaptureSetup } from '../capture-setup';
import { checkField, ConflictError, InvalidInputError, NotFoundError } from '../errors';
import { withSource } from '../source-database';
import { ColumnChange, diffSchemas, DiffWitness } from './schema-diff';
import { planRouteEffect, RouteSchemaEffect } from './route-effects';

/** How a route follows the change, as the API shows it. */
export interface RouteSchemaPlan extends Omit<RouteSchemaEffect, 'rewritten' | 'step'> {
  /** requested: a re-sync was started for it; needed: it needs one nobody asked for; none: it follows exactly. */
  resync: 'requested' | 'needed' | 'none';
}

/** What a schema change does, table and routes, before (dry run) or after it is made. */
export interface SchemaChangePlan {
  fromHash: string;
  toHash: string;
  changes: ColumnChange[];
  routes: RouteSchemaPlan[];
  /** The table renamed (its rows flow on under the new name, no copy); absent when it keeps its name. */
  tableRename?: { from: string; to: string };
}

export interface SchemaChangeOutcome {
  /** The table's schema after the change (for a dry run: as the ALTER would leave it). */
  schema: TableSchema;
  warnings: string[];
  /** False for a dry run: nothing was changed. */
  applied: boolean;
  plan: SchemaChangePlan;
}

export interface SchemaChangeRequest {
  /** Only plan: nothing is changed at the source, in the configuration or at a target. */
  dryRun?: boolean;
  /** Re-sync, once the change is made, every route whose target cannot follow it exactly. */
  resync?: boolean;
  /** Who asks (kept with the change and its re-syncs). */
  requestedBy?: string | null;
}

/** Starts a route's re-sync (RouteSetup.resync). */
export type ResyncStarter = (routeId: string, requestedBy: string | null) => Promise<unknown>;

/**
 * Schema changes of captured tables, planned before they are made (issue
 * #17): an ALTER through Tributary, or the adoption of one made behind its
 * back. Both answer with the same plan: what changed, column by column, and
 * per route what its target does, how its rules are rewritten, and whether
 * it needs a re-sync to match the source again. The plan is also what
 * happens: the route steps it holds are recorded with the new schema, and
 * the workers carry them out when they reach the first change captured
 * with it.
 */
export class SchemaChangeSetup {
  constructor(
    private readonly catalog: CatalogRepository,
    private readonly capture: CaptureSetup,
    private readonly startResync: ResyncStarter,
  ) {}

  /**
   * Runs (or with dryRun only plans) `ALTER TABLE <table> <alterSpec>` the
   * safe way (alterCapturedTable): the ALTER, the new schema with the plan,
   * the rewritten route rules and the new triggers are one step for writers.
   *
   * @throws NotFoundError; InvalidInputError (field `alter`) if the spec is refused, the ALTER fails or capture
   *   cannot follow it (the message says whether the ALTER was applied), or a dry run cannot try it.
   */
  async alter(sourceId: string, table: string, alterSpec: string, request: SchemaChangeRequest = {}): Promise<SchemaChangeOutcome> {
    const source = await this.capture.requireCaptured(sourceId, table);
    const newName = await capturing('alter', () => tableRenameOf(alterSpec));
    if (newName !== null) return this.renameTable(source, table, newName, request);
    await capturing('alter', () => validateAlterSpec(alterSpec));
    const recorded = await this.recordedSchema(sourceId, table);
    return withSource(source, async (knex) => {
      if (request.dryRun) {
        const preview = await capturing('alter', () => previewAlter(knex, table, alterSpec));
        return this.outcome(preview.after, [], false, await this.plan(source, recorded, preview.after, witnessOf(preview, recorded, preview.after)));
      }
      let planned: SchemaChangePlan | null = null;
      const schema = await capturing('alter', () =>
        alterCapturedTable(knex, table, alterSpec, {
          beforeInstall: async (after, witness) => {
            planned = await this.record(source, recorded, after, witnessOf(witness, recorded, after), request.requestedBy ?? null);
          },
        }),
      );
      return this.finish(knex, source, schema, planned!, request);
    });
  }

  /**
   * Adopts a change made to the table behind Tributary's back (drift): the
   * recorded schema is compared with the table as it is, and capture is
   * installed again with the plan recorded, as an ALTER through Tributary
   * would have. Information_schema cannot tell a renamed column from one
   * dropped and one added: `renames` (old name → new name) says which were
   * renamed, so their values are kept at the targets.
   *
   * @throws NotFoundError; InvalidInputError (field `renames`) if a rename does not fit the two shapes,
   *   or (field `table`) if capture cannot carry the table as it is.
   */
  async adopt(sourceId: string, table: string, renames: Record<string, string>, request: SchemaChangeRequest = {}): Promise<SchemaChangeOutcome> {
    const source = await this.capture.requireCaptured(sourceId, table);
    const pairs = renamePairs(renames);
    const recorded = await this.recordedSchema(sourceId, table);
    return withSource(source, async (knex) => {
      const movedTo = await renamedBehindBack(knex, table);
      if (movedTo !== null) return this.adoptTableRename(knex, source, recorded, movedTo, pairs, request);
      if (request.dryRun) {
        const current = await capturing('table', () => introspectTable(knex, table));
        return this.outcome(current, [], false, await this.plan(source, recorded, current, { renames: pairs, ...(await tableColumnFacts(knex, table)) }));
      }
      let planned: SchemaChangePlan | null = null;
      const schema = await capturing('table', () =>
        installCapture(knex, table, {
          // Under the install's lock (facts read on its session): the shape planned is the one the new triggers capture.
          beforeInstall: async (current, facts) => {
            planned = await this.record(source, recorded, current, { renames: pairs, ...(await facts()) }, request.requestedBy ?? null);
          },
        }),
      );
      return this.finish(knex, source, schema, planned!, request);
    });
  }

  /**
   * Renames the table (renameCapturedTable): its routes follow it, their
   * changes flow on without a copy, before and after the rename in order;
   * target tables keep their names. Refused (ConflictError) when the new
   * name is another captured or routed table's at this source.
   */
  private async renameTable(source: SourceRecord, table: string, to: string, request: SchemaChangeRequest): Promise<SchemaChangeOutcome> {
    const recorded = await this.recordedSchema(source.id, table);
    await this.refuseTakenName(source.id, to);
    const plan = await this.renamePlan(source.id, recorded, to);
    return withSource(source, async (knex) => {
      if (request.dryRun) {
        await capturing('alter', () => checkRenamable(knex, table, to));
        return this.outcome({ ...recorded, table: to }, [], false, plan);
      }
      const schema = await capturing('alter', () => renameCapturedTable(knex, table, to, this.renameRecorder(source.id, recorded, to, request)));
      return this.outcome(schema, [], true, plan);
    });
  }

  /**
   * Adopts a rename made behind Tributary's back (RENAME TABLE): the triggers
   * went with the table and still write its old name (adoptTableRename).
   * Only the rename: a shape that changed too is adopted after it.
   */
  private async adoptTableRename(knex: Knex, source: SourceRecord, recorded: TableSchema, to: string, renames: ColumnRename[], request: SchemaChangeRequest): Promise<SchemaChangeOutcome> {
    if (renames.length > 0) throw new InvalidInputError(`table ${recorded.table} was renamed to ${to}: adopt the rename first (without column renames), then the columns' change`, 'renames');
    await this.refuseTakenName(source.id, to);
    const plan = await this.renamePlan(source.id, recorded, to);
    if (request.dryRun) {
      sameShape(recorded, await capturing('table', () => introspectTable(knex, to)));
      return this.outcome({ ...recorded, table: to }, [], false, plan);
    }
    const schema = await capturing('table', () => adoptTableRename(knex, recorded.table, to, this.renameRecorder(source.id, recorded, to, request)));
    return this.outcome(schema, [], true, plan);
  }

  /** What a table rename records under the table's lock (and takes back if the source refuses it). */
  private renameRecorder(sourceId: string, recorded: TableSchema, to: string, request: SchemaChangeRequest): RenameOptions {
    const rename = { sourceId, from: recorded.table, to };
    return {
      record: async (schema, at) => {
        sameShape(recorded, schema);
        try {
          await this.catalog.tableRenames.record({ ...rename, at, requestedBy: request.requestedBy ?? null });
        } catch (error) {
          throw error instanceof TableNameTakenError ? new ConflictError(error.message) : error;
        }
      },
      undo: (at) => this.catalog.tableRenames.undo({ ...rename, at }),
    };
  }

  private async refuseTakenName(sourceId: string, name: string): Promise<void> {
    const taken = (await this.catalog.getCapturedTable(sourceId, name)) ?? (await this.catalog.listRoutes({ sourceId })).find((route) => route.table === name);
    if (taken) throw new ConflictError(`${name} is already a captured or routed table of source ${sourceId}`);
  }

  /** What a table rename does: every route follows it exactly, into the same target table. */
  private async renamePlan(sourceId: string, schema: TableSchema, to: string): Promise<SchemaChangePlan> {
    const [routes, targets] = await Promise.all([this.catalog.listRoutes({ sourceId }), this.catalog.listTargets()]);
    const kindOf = new Map(targets.map((target) => [target.id, target.kind]));
    return {
      fromHash: schema.hash,
      toHash: schema.hash,
      changes: [],
      tableRename: { from: schema.table, to },
      routes: routes
        .filter((route) => route.table === schema.table)
        .map((route) => ({
          route: route.id,
          target: route.targetId,
          targetKind: kindOf.get(route.targetId) ?? 'unknown',
          targetTable: route.targetTable,
          actions: [`none: target table ${route.targetTable} keeps its name and its rows`],
          routeChanges: [`reads source table ${to} (was ${schema.table}); changes from before the rename are applied first, in order`],
          resyncReasons: [],
          waits: null,
          resync: 'none' as const,
        })),
    };
  }

  /** The schema the table's changes were last captured with: where its targets are. */
  private async recordedSchema(sourceId: string, table: string): Promise<TableSchema> {
    const captured = await this.catalog.getCapturedTable(sourceId, table);
    const schema = captured && (await this.catalog.getSchema(sourceId, table, captured.schemaHash));
    if (!schema) throw new NotFoundError(`table ${table} of source ${sourceId} has no recorded schema: capture it again`, 'table');
    return schema;
  }

  /** The plan for the table going from `before` to `after`. */
  private async plan(source: SourceRecord, before: TableSchema, after: TableSchema, witness: DiffWitness): Promise<SchemaChangePlan & { effects: RouteSchemaEffect[]; renames: ColumnRename[] }> {
    const diff = diffSchemas(before, after, witness);
    const [routes, targets] = await Promise.all([this.catalog.listRoutes(), this.catalog.listTargets()]);
    const kindOf = new Map(targets.map((target) => [target.id, target.kind]));
    const writers = (route: RouteRecord) => routes.filter((other) => other.targetId === route.targetId && other.targetTable === route.targetTable);
    const effects = routes
      .filter((route) => route.sourceId === source.id && route.table === before.table)
      .map((route) =>
        planRouteEffect(
          { route, targetKind: kindOf.get(route.targetId) ?? 'unknown', droppedColumns: route.droppedColumns ?? 'keep', sharesTargetTable: writers(route).length > 1 },
          diff,
        ),
      );
    return {
      fromHash: before.hash,
      toHash: after.hash,
      changes: diff.changes,
      routes: effects.map(({ rewritten: _rewritten, step: _step, ...shown }) => ({ ...shown, resync: shown.resyncReasons.length > 0 ? 'needed' : 'none' })),
      effects,
      renames: diff.renames,
    };
  }

  /**
   * Plans the change and records it with the new schema, the route steps and
   * the rewritten rules (one control transaction). Called under the source
   * table's lock, before the new triggers go live.
   */
  private async record(source: SourceRecord, before: TableSchema, after: TableSchema, witness: DiffWitness, requestedBy: string | null): Promise<SchemaChangePlan> {
    let planned: Awaited<ReturnType<SchemaChangeSetup['plan']>>;
    try {
      planned = await this.plan(source, before, after, witness);
    } catch (error) {
      // An ALTER has run by now and its triggers go live either way: its changes must decode, plan or not.
      await this.catalog.saveSchema(source.id, after);
      throw error;
    }
    const { effects, renames, ...plan } = planned;
    if (before.hash === after.hash && renames.length === 0 && effects.every((effect) => effect.step === null)) {
      await this.catalog.saveSchema(source.id, after);
      return plan;
    }
    const steps = Object.fromEntries(effects.filter((effect) => effect.step !== null).map((effect) => [effect.route, effect.step!]));
    const rewrites = effects
      .filter((effect) => effect.rewritten !== null)
      .map((effect) => ({ routeId: effect.route, filter: effect.rewritten!.filter, mapping: effect.rewritten!.mapping, conflictPolicy: effect.rewritten!.conflictPolicy }));
    await this.catalog.schemaChanges.record(
      { sourceId: source.id, table: after.table, fromHash: before.hash, toHash: after.hash, renames, routeSteps: steps, schema: after, plan, requestedBy },
      rewrites,
    );
    return plan;
  }

  /** After the change: the table's new hash recorded, cascade warnings, re-syncs started if asked. */
  private async finish(knex: Knex, source: SourceRecord, schema: TableSchema, plan: SchemaChangePlan, request: SchemaChangeRequest): Promise<SchemaChangeOutcome> {
    await this.catalog.recordCapturedTable(source.id, schema.table, schema.hash);
    if (request.resync) {
      for (const route of plan.routes) {
        if (route.resync !== 'needed' || route.waits !== null) continue;
        try {
          await this.startResync(route.route, request.requestedBy ?? null);
          route.resync = 'requested';
        } catch (error) {
          // One already running reads the table as it is now: it carries the change too.
          if (!(error instanceof ConflictError)) throw error;
          route.resync = 'requested';
        }
      }
    }
    // The ALTER may have added a cascading foreign key.
    return this.outcome(schema, await cascadeWarnings(knex, schema.table), true, plan);
  }

  private outcome(schema: TableSchema, warnings: string[], applied: boolean, plan: SchemaChangePlan & { effects?: unknown; renames?: unknown }): SchemaChangeOutcome {
    const { effects: _effects, renames: _renames, ...shown } = plan;
    return { schema, warnings, applied, plan: shown };
  }
}

/**
 * What an ALTER showed beyond the shapes. Only renames that fit the recorded
 * and the new shape are kept: the ALTER has run by the time the plan is
 * recorded, and a rename the clauses named but the tables do not show (a
 * CHANGE IF EXISTS of no column) must not keep the new schema from being
 * recorded.
 */
function witnessOf(change: AlterWitness, before: TableSchema, after: TableSchema): DiffWitness {
  const had = new Set(before.columns.map((column) => column.name));
  const has = new Set(after.columns.map((column) => column.name));
  const renames = change.renames.filter(({ from, to }) => had.has(from) && has.has(to));
  return { renames, filledWhenAdded: change.facts.filledWhenAdded, hasRows: change.facts.hasRows };
}

/**
 * A table rename carries the table's shape as it is: one that changed too
 * (behind Tributary's back) is adopted on its own, after the rename.
 *
 * @throws InvalidInputError (field `table`) if the shapes differ.
 */
function sameShape(recorded: TableSchema, current: TableSchema): void {
  if (current.hash !== recorded.hash) {
    throw new InvalidInputError(
      `table ${current.table} (was ${recorded.table}) also changed shape (schema ${recorded.hash} → ${current.hash}): put the shape back, adopt the rename, then change the shape through Tributary`,
      'table',
    );
  }
}

/** `{ old: new }` from the API as renames, names checked. */
function renamePairs(renames: Record<string, string>): ColumnRename[] {
  return Object.entries(renames).map(([from, to]) => {
    checkField('renames', () => validateIdentifier(from, 'column'));
    if (typeof to !== 'string') throw new InvalidInputError(`renames.${from} must be the column's new name`, 'renames');
    checkField('renames', () => validateIdentifier(to, 'column'));
    return { from, to };
  });
}

/** Runs `work`; a capture refusal becomes bad input in `field` (asInvalid). */
async function capturing<T>(field: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asInvalid(error, field);
  }
}

import { ORIGIN_MAX_LENGTH } from '@tributary/db';
import { ConflictRepository, DeadLetterRepository, ProgressRepository, RouteRecord, routeSelectorOf, TargetRecord } from '@tributary/control';
import { Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import {
  copyRouteOf,
  echoOriginOf,
  feedId,
  forwardedOrigin,
  originPath,
  Row,
  RoutePartition,
  RouteSelector,
  valueFromJsonSafe,
  RowChange,
  TableSchema,
  TargetTableSpec,
  withStepDefaults,
  WireChange,
} from '@tributary/model';
import { boundedRuns, RangeJobData, ResolutionJobData, RetryJobData } from '@tributary/queue';
import {
  changeDependentColumns,
  ConflictPolicyError,
  parseConflictPolicy,
  RouteConfigError,
  routeConfigVersion,
  RouteMapping,
  RoutePlan,
  routePlan,
  targetColumnName,
} from '@tributary/replication';
import { ApplyBatch, ApplyHooks, movesKey, PreparedApply, RejectedChange, SourceVersioning, TargetTransaction, TransactionRefusedError } from '@tributary/targets';
import { decodeChanges } from './change-decoder';
import { conflictSignature, ConflictSetup, resolveConflicts } from './conflict-resolver';
import { CustomResolverLoader } from './custom-resolvers';
import { deadLetterOf } from './dead-letter-input';
import { ProgressMirror } from './progress-mirror';
import { RangeReader } from './range-reader';
import { retryOutcomes, retryTurns } from './retry-outcomes';
import { SchemaCache } from './schema-cache';
import { TableHistory } from './table-history';
import { SourceOutboxes } from './source-outboxes';
import { TargetPool } from './target-pool';

/** Changes applied in one target transaction, with where the route's checkpoint may move. */
export interface Batch {
  sourceId: string;
  table: string;
  changes: WireChange[];
  /** The checkpoint this batch may claim (0: it moves nothing, e.g. a retry). */
  watermark: number;
  /** A dead-letter retry or a person's decision: the same seq may go through again. */
  retryOf?: number[];
  resolution?: ResolutionJobData['resolution'];
  /** The last batch of a range job: its coverage (RangeJobData.coveredMicros), true once this batch commits. */
  coveredMicros?: number;
}

/** A batch decoded, filtered and mapped, one entry per schema run, ready for the target. */
interface PreparedBatch {
  data: Batch;
  /** The route's configuration the batch was prepared with (a refresh meanwhile must not mix two). */
  route: RouteRecord;
  reapply: boolean;
  undecodable: Array<{ wire: WireChange; reason: string }>;
  runs: Array<{
    plan: RoutePlan | null;
    spec: TargetTableSpec | null;
    schema: TableSchema | null;
    /** The route with its rules in the column names of the run's schema (TableHistory.rulesFor). */
    rules: RouteRecord;
    ensureKey: string;
    /** What the target is given (the last run claims the batch's watermark). */
    apply: ApplyBatch;
    /** Conflict detection runs inside the target transaction: such a run cannot be prepared ahead. */
    detectsConflicts: boolean;
    /** The target's own CPU work for the run, done ahead (Target.prepare), or null. */
    prepared: PreparedApply | null;
    wireBySeq: Map<number, WireChange>;
    /** The change each applied one came from; the rows of a copy chunk share a seq, so wireBySeq cannot tell them apart. */
    wireOf: Map<RowChange, WireChange>;
  }>;
  filtered: number;
}

/** What a route's parts of a transaction job did, counted until the transaction commits. */
export interface TransactionTally {
  applied: number;
  skipped: number;
  filtered: number;
  /** The route's last change in the job (its freshness once committed). */
  last: { seq: number; ts: number } | null;
}

export function emptyTally(): TransactionTally {
  return { applied: 0, skipped: 0, filtered: 0, last: null };
}

/** A table a transaction job writes is not made (or evolved) yet: `ensure` does it, outside the transaction. */
export class TableNotReadyError extends Error {
  constructor(
    tableName: string,
    readonly ensure: () => Promise<void>,
  ) {
    super(`table ${tableName} is to be created or evolved before the transaction`);
    this.name = 'TableNotReadyError';
  }
}

/** The batches of one read of a range job. */
interface PreparedChunk {
  batches: PreparedBatch[];
  done: boolean;
}

/** What the target did with a batch. */
interface WriteOutcome {
  applied: number;
  skipped: number;
  refused: number[];
  superseded: number[];
}

export interface BatchApplierDeps {
  schemas: SchemaCache;
  targets: TargetPool;
  outboxes: SourceOutboxes;
  progress: ProgressRepository;
  deadLetters: DeadLetterRepository;
  conflicts: ConflictRepository;
  resolvers: CustomResolverLoader;
  metrics: Metrics;
  /** Rows and bytes at most in one target transaction (invariant 7). */
  batchRows: number;
  batchBytes: number;
  /** Told once a feed's progress is durable in the control schema (announceApplied: wakes read-your-writes waiters). */
  applied?(feedId: string, watermark: number): void;
  /** The route's versions per source when its target table has several sources with shared keys (sourceVersioningByRoute). */
  versionsOf?(routeId: string): SourceVersioning | undefined;
  /** The route's target table as the target database captures it, if it does (capturedTargetTables). */
  capturedAs?(routeId: string): TableSchema | undefined;
}

/**
 * Applies one route's changes at its target: a range job read from the
 * source outbox in bounded chunks, or a batch that carries its changes
 * (retries, decisions). Each batch is decoded, filtered and mapped, applied
 * in one target transaction with the checkpoint it covers (invariant 3), and
 * its progress mirrored into the control schema off the apply path. The
 * stages overlap: the next chunk is read and prepared while the current
 * batch is at the target. A partition of a partitioned route has its own
 * applier: its own checkpoint and progress row (its feed), its own keys.
 */
export class BatchApplier {
  /** The route's progress in the control schema, written off the apply path. */
  private readonly mirror: ProgressMirror;
  /** The target's checkpoint as last seen or written (null: read it first); only moves forward. */
  private applied: number | null = null;
  /** Tables ensured, by schema hash and route configuration (a changed mapping ensures again). */
  private readonly ensured = new Set<string>();
  /** Plans by schema, route configuration and schema history, each with the route's rules in that schema's names. */
  private readonly plans = new Map<string, { plan: RoutePlan; rules: RouteRecord }>();
  /** The schema of the last batch prepared: a batch of another one reads the table's schema changes again (SchemaCache.history). */
  private lastSchema: string | null = null;
  /** Recent conflict resolutions by signature (conflictHook), oldest first. */
  private readonly resolutions = new Map<string, RowChange[]>();
  /** The feed this applier moves: the route's id, or its partition's (feedId). */
  readonly feed: string;

  constructor(
    private route: RouteRecord,
    private target: TargetRecord,
    private readonly deps: BatchApplierDeps,
    private readonly logger: Logger,
    private readonly partition: RoutePartition | null = null,
  ) {
    const feed = feedId(route.id, partition);
    this.feed = feed;
    this.mirror = new ProgressMirror(async (progress) => {
      await deps.progress.recordApplied(feed, progress);
      deps.applied?.(feed, progress.watermark);
    });
  }

  /** Follows configuration changes: a new target or target table, a new filter or mapping. */
  configure(route: RouteRecord, target: TargetRecord): void {
    // Another target, or the same one pointed elsewhere: its tables and its checkpoint are to be read again.
    if (route.targetId !== this.route.targetId || JSON.stringify([target.kind, target.url, target.options]) !== JSON.stringify([this.target.kind, this.target.url, this.target.options])) {
      this.ensured.clear();
      this.applied = null;
    }
    // Plans are keyed by the route's configuration version too; old ones are only dropped to save memory.
    if (routeConfigVersion(route) !== routeConfigVersion(this.route)) this.plans.clear();
    this.route = route;
    this.target = target;
  }

  /** The route as the outbox is read for it. */
  get selector(): RouteSelector {
    return routeSelectorOf(this.route);
  }

  /** The route's configuration this applier applies with now. */
  get routeRecord(): RouteRecord {
    return this.route;
  }

  /** Where the route stands at its target (the target's checkpoint, read once). */
  checkpoint(): Promise<number> {
    return this.appliedCheckpoint();
  }

  /** Waits until the progress applied so far is mirrored; rethrows a failed mirror write. */
  settle(): Promise<void> {
    return this.mirror.settle();
  }

  /**
   * A range job: the route's rows inside its ranges, above the target's
   * checkpoint, read in chunks; each chunk may claim the checkpoint up to
   * what it covers (never past the job's watermark). The next chunk is read
   * and decoded, and the last one's progress mirrored, while the current one
   * is at the target: source, worker and target work at once.
   */
  async applyRanges(job: RangeJobData): Promise<void> {
    const route = this.route;
    const selector = routeSelectorOf({ ...route, table: job.table });
    const floor = await this.appliedCheckpoint();
    const reader = new RangeReader(this.deps.outboxes.get(job.sourceId), selector, job.ranges, floor, this.deps.batchRows, this.partition);
    let claimed = floor;
    let coveredRecorded = false;
    let next: Promise<PreparedChunk> | null = this.readAhead(reader, job);
    while (next) {
      const chunk: PreparedChunk = await next;
      next = chunk.done ? null : this.readAhead(reader, job);
      for (const batch of chunk.batches) {
        // A failed progress write since the last batch fails this one: it is retried, and the route shows why.
        this.mirror.check();
        this.account(batch, await this.write(batch));
        claimed = Math.max(claimed, batch.data.watermark);
        if (batch.data.coveredMicros !== undefined) coveredRecorded = true;
      }
    }
    // Nothing (more) of the route in the ranges, or only its watermark moves: the checkpoint alone.
    if (claimed < job.watermark) {
      const data: Batch = { sourceId: job.sourceId, table: job.table, changes: [], watermark: job.watermark };
      if (job.coveredMicros !== undefined) data.coveredMicros = job.coveredMicros;
      const empty = await this.prepare(data, true);
      this.account(empty, await this.write(empty));
    } else if (job.coveredMicros !== undefined && !coveredRecorded) {
      // Every range was applied in batches before the last chunk (or above the checkpoint there was nothing).
      this.mirror.add({ watermark: 0, maxSeq: 0, count: 0, lastChangeTs: null, coveredMicros: job.coveredMicros });
    }
  }

  /**
   * Reads the next chunk and prepares its batches, started while the current
   * batch is at the target; a failure surfaces where it is awaited, never as
   * an unhandled rejection.
   */
  private readAhead(reader: RangeReader, job: RangeJobData): Promise<PreparedChunk> {
    const ahead = (async () => {
      const chunk = await reader.next();
      // A read holds at most batchRows changes, or one copy chunk's rows (SNAPSHOT_CHUNK_ROWS at most), which
      // go in as few target transactions as their bytes allow.
      const maxRows = chunk.changes[0]?.chunkRow ? Infinity : this.deps.batchRows;
      const batches = boundedRuns(chunk.changes, (change) => change, { maxRows, maxBytes: this.deps.batchBytes });
      const prepared: PreparedBatch[] = [];
      for (let i = 0; i < batches.length; i++) {
        const batch = batches[i];
        // A batch covers the seqs below the next batch's first change (the rows of a copy chunk share one
        // seq and may span batches: the first claims none of it); the chunk's last one up to where the
        // read got, and the job's last one everything the job promises (the ranges hold all of it).
        const last = i === batches.length - 1;
        const covered = last && chunk.done ? job.watermark : last ? chunk.coveredTo : batches[i + 1][0].seq - 1;
        // Preparing a batch is a few milliseconds of CPU: let the batch at the target take its next round trip first.
        await yieldToIo();
        const data: Batch = { sourceId: job.sourceId, table: job.table, changes: batch, watermark: Math.min(job.watermark, covered) };
        // The job's last batch: once it commits, every range of the job is applied.
        if (last && chunk.done && job.coveredMicros !== undefined) data.coveredMicros = job.coveredMicros;
        prepared.push(await this.prepare(data, true));
      }
      return { batches: prepared, done: chunk.done };
    })();
    ahead.catch(() => undefined);
    return ahead;
  }

  /**
   * A part of a transaction job (TransactionApplier): `changes` of this
   * route decoded, filtered, mapped and written inside the open target
   * transaction `tx`, or only the checkpoint moved (`watermark`). Nothing
   * is refused alone there: an undecodable or refused row fails the whole
   * transaction, and a table not yet made fails it with TableNotReadyError
   * (the caller makes it outside and runs the transaction again).
   *
   * @throws RouteConfigError for a route with a conflict policy (setup refuses one into a transactional target).
   */
  async writeInTransaction(tx: TargetTransaction, data: Batch, tally: TransactionTally): Promise<void> {
    const prepared = await this.prepare(data, true);
    const { route, undecodable, runs } = prepared;
    if (undecodable.length > 0) {
      const { wire, reason } = undecodable[0];
      throw new TransactionRefusedError(undecodable.map((u) => ({ change: u.wire, reason: u.reason, code: null })), `${route.table} (source)`, {
        cause: new Error(`seq ${wire.seq}: ${reason}`),
      });
    }
    const target = await this.deps.targets.get(this.target);
    for (const run of runs) {
      if (run.detectsConflicts) throw new RouteConfigError(`route ${route.id}: a conflict policy is not applied by a transactional target; remove it or turn transactional off`);
      if (run.spec && !this.ensured.has(run.ensureKey)) {
        const { spec, ensureKey } = run;
        throw new TableNotReadyError(spec.name, async () => {
          await target.ensureTable(spec);
          this.ensured.add(ensureKey);
        });
      }
      const result = await tx.apply(run.apply, run.prepared ?? undefined);
      tally.applied += result.applied;
      tally.skipped += result.skipped;
    }
    tally.filtered += prepared.filtered;
    const last = data.changes[data.changes.length - 1];
    if (last) tally.last = { seq: last.seq, ts: last.ts };
  }

  /** After the transaction of a transaction job committed: the route's progress and counts, as account does for a batch. */
  committedInTransaction(tally: TransactionTally, watermark: number, coveredMicros: number | undefined): void {
    this.applied = Math.max(this.applied ?? 0, watermark);
    this.recordCommitted(this.route.id, tally, watermark, coveredMicros);
  }

  /**
   * Committed at the target: the progress to the mirror, the counts to the
   * metrics. `tally.last` is null for a retry or decision (old changes must
   * not make the route look fresher than it is) or when nothing was written.
   */
  private recordCommitted(routeId: string, tally: TransactionTally, watermark: number, coveredMicros: number | undefined): void {
    const { metrics } = this.deps;
    this.mirror.add({ watermark, maxSeq: tally.last?.seq ?? 0, count: tally.applied, lastChangeTs: tally.last?.ts ?? null, coveredMicros: coveredMicros ?? null });
    if (tally.applied > 0) metrics.changesApplied.inc({ route: routeId }, tally.applied);
    if (tally.skipped > 0) metrics.changesSkipped.inc({ route: routeId }, tally.skipped);
    if (tally.filtered > 0) metrics.changesFiltered.inc({ route: routeId }, tally.filtered);
    if (tally.last) metrics.lagSeconds.set({ route: routeId }, Math.max(0, Date.now() / 1000 - tally.last.ts / 1e6));
  }

  /** Where the route stands at its target: every change at or below it is applied there. */
  private async appliedCheckpoint(): Promise<number> {
    if (this.applied === null) {
      const target = await this.deps.targets.get(this.target);
      this.applied = (await target.readCheckpoint(this.feed))?.watermark ?? 0;
    }
    return this.applied;
  }

  /** One batch, start to end: for jobs that carry their changes (retries, decisions, first-format jobs). */
  async apply(data: Batch): Promise<void> {
    // A retry's outcomes are told apart by seq, which the rows of a copy chunk share: such letters go in turns.
    if (data.retryOf) {
      const turns = retryTurns(data.changes, data.retryOf);
      if (turns.length > 1) {
        for (const turn of turns) await this.apply({ ...data, ...turn });
        return;
      }
    }
    const prepared = await this.prepare(data);
    const outcome = await this.write(prepared);
    this.account(prepared, outcome);
    // Letters and decisions are settled only once the progress they belong to is written.
    await this.mirror.settle();
    if (data.retryOf) await this.resolveRetry({ changes: data.changes, retryOf: data.retryOf }, outcome.refused, outcome.superseded);
    if (data.resolution) await this.resolveParked(data.resolution);
  }

  /**
   * Decodes, filters and maps a batch, and lets the target plan it: CPU work
   * that needs neither a target round trip nor a transaction, so a range job
   * does it for the next batch while the target commits the current one.
   *
   * `ofRanges`: read from a range job, so a partition's applier holds only its partition's changes.
   *
   * @throws RouteConfigError (the batch is retried and the route shows why it waits).
   */
  private async prepare(data: Batch, ofRanges = false): Promise<PreparedBatch> {
    const route = this.route;
    const resolution = data.resolution ?? null;
    const reapply = data.retryOf !== undefined || resolution !== null;
    const target = await this.deps.targets.get(this.target);
    const schemaFor = await this.deps.schemas.load(data.sourceId, data.table, data.changes.map((change) => change.schema));
    const { runs: decoded, undecodable } = decodeChanges(data.changes, schemaFor);
    const switched = decoded.some((run) => run.schemaHash !== this.lastSchema);
    if (decoded.length > 0) this.lastSchema = decoded[decoded.length - 1].schemaHash;
    let history = await this.deps.schemas.history(data.sourceId, data.table, switched);
    if (!history.knows(route.namesAsOf)) history = await this.deps.schemas.history(data.sourceId, data.table, true);
    // A retried or decided change captured before its target table had a column renamed or dropped: written in
    // its own shape it would bring the old column back. It stays a dead letter, saying why; a re-sync carries the row.
    const runs = reapply ? decoded.filter((run) => !history.changedAfter(route.id, run.schemaHash)) : decoded;
    for (const run of decoded.filter((candidate) => !runs.includes(candidate))) {
      for (const { wire } of run.changes) {
        undecodable.push({ wire, reason: `captured before a schema change renamed or dropped columns of ${route.targetTable}; re-sync the route to carry this row` });
      }
    }
    let filtered = 0;
    // A batch without changes (everything filtered, or only the watermark moves) still moves the checkpoint.
    const work = runs.length > 0 ? runs : [{ schemaHash: null, changes: [] }];
    const planned = work.map((run, index) => {
      const schema = run.schemaHash ? schemaFor(run.schemaHash) : null;
      const routed = schema ? this.planFor(route, schema, history) : null;
      const plan = routed?.plan ?? null;
      const spec = plan?.spec ?? null;
      // Changes the filter drops still count as done: the watermark moves past them.
      const wireOf = new Map<RowChange, WireChange>();
      for (const { wire, row } of run.changes) {
        let kept = plan ? plan.transform(wire, row, data.sourceId) : row;
        // When and how it was captured: change events (the broker targets) carry both.
        if (kept) kept = { ...kept, ts: wire.ts, ...(copyRouteOf(wire.origin) !== null ? { copy: true } : {}) };
        if (kept && resolution?.action === 'merge' && resolution.row) kept = withMergedRow(kept, resolution.row, spec);
        if (kept && originPath(wire.origin).length > 0) {
          // Applied at the source by Tributary (a ring, a star): it carries where it has been.
          const origin = forwardedOrigin(wire.origin, data.sourceId);
          if (origin.length > ORIGIN_MAX_LENGTH) {
            undecodable.push({ wire, reason: `the change has passed through too many databases for the outbox's origin column (${ORIGIN_MAX_LENGTH} characters): ${origin}` });
            continue;
          }
          kept = { ...kept, origin };
        }
        if (kept) wireOf.set(kept, wire);
        else filtered++;
      }
      const changes = [...wireOf.keys()];
      const table = spec ?? { name: route.targetTable, columns: [], key: [] };
      const apply: ApplyBatch = {
        // The checkpoint's name: a partition has its own.
        routeId: this.feed,
        table,
        changes,
        // Only the last run may claim the batch's watermark; earlier ones keep the checkpoint where it is.
        watermark: index === work.length - 1 ? data.watermark : 0,
        origin: echoOriginOf(data.sourceId),
        reapply,
        ...(run.schemaHash ? { source: { id: data.sourceId, table: data.table, schemaHash: run.schemaHash } } : {}),
      };
      // A table several sources write with shared keys: each row guarded by this source's own versions.
      const versions = this.deps.versionsOf?.(route.id);
      if (versions) apply.versions = versions;
      const capturedAs = this.deps.capturedAs?.(route.id);
      if (capturedAs) apply.capturedAs = capturedAs;
      // Its partition's keys only: a key move at the source reaches every partition, so that batch may touch
      // any key (judged on the source's images: the filter may have made the move an insert or a delete);
      // a retry or decision may be any partition's. A partitioned route never shares its target table
      // (setup refuses it) nor detects conflicts.
      const sourceKey = schema && { name: schema.table, columns: schema.columns, key: schema.key };
      const movesAKey = sourceKey !== null && run.changes.some(({ row }) => movesKey(sourceKey, row));
      if (ofRanges && this.partition && this.partition.count > 1 && !movesAKey) apply.partition = this.partition;
      // A person's decision is applied as decided: conflict detection is for changes nobody has looked at.
      const detectsConflicts = Boolean(plan && route.conflictPolicy && !resolution);
      return {
        plan,
        spec,
        schema,
        rules: routed?.rules ?? route,
        ensureKey: `${run.schemaHash}\0${routeConfigVersion(route)}\0${run.schemaHash && history.versionFor(run.schemaHash)}`,
        apply,
        detectsConflicts,
        prepared: !detectsConflicts && target.prepare ? target.prepare(apply) : null,
        wireBySeq: new Map(run.changes.map(({ wire }) => [wire.seq, wire])),
        wireOf,
      };
    });
    return { data, route, reapply, undecodable, runs: planned, filtered };
  }

  /** Applies a prepared batch at the target: one transaction per schema run, the last one with the checkpoint (invariant 3). */
  private async write(prepared: PreparedBatch): Promise<WriteOutcome> {
    const { targets, deadLetters, metrics } = this.deps;
    const { data, route, reapply, undecodable, runs } = prepared;
    const target = await targets.get(this.target);
    const outcome: WriteOutcome = { applied: 0, skipped: 0, refused: [], superseded: [] };

    if (undecodable.length > 0) {
      await deadLetters.record(undecodable.map(({ wire, reason }) => deadLetterOf(route.id, data.table, wire, reason, null)));
      for (const { wire, reason } of undecodable) {
        outcome.refused.push(wire.seq);
        this.logger.warn({ seq: wire.seq, reason }, 'change cannot be decoded; recorded as dead letter');
      }
    }

    const endTimer = metrics.applyDuration.startTimer({ route: route.id });
    for (const { plan, spec, schema, rules, ensureKey, apply, detectsConflicts, prepared: ahead, wireBySeq, wireOf } of runs) {
      if (spec && !this.ensured.has(ensureKey)) {
        await target.ensureTable(spec);
        this.ensured.add(ensureKey);
      }
      const conflicts = detectsConflicts ? await this.conflictSetupFor(rules, plan!, schema!) : null;
      const hooks: ApplyHooks = {
        // Durable before the target commits (invariant 9, then 3); a refused retry reopens its letter.
        recordRejected: async (rejected: RejectedChange[]) => {
          // A change a conflict resolver made anew is not in wireOf: its seq is its own (copies are never resolved).
          await deadLetters.record(rejected.map((r) => deadLetterOf(route.id, data.table, wireOf.get(r.change) ?? wireBySeq.get(r.change.seq)!, r.reason, r.code)));
        },
        ...(conflicts ? { resolveConflicts: this.conflictHook(route, conflicts, wireBySeq) } : {}),
        // newer-wins compares late inserts with the deletions the target remembers (deletionWins).
        ...(conflicts?.policy.resolution === 'newer-wins' ? { remembersDeletes: true } : {}),
      };
      // A target pointed elsewhere since the batch was prepared ignores what the old one planned.
      const result = await target.apply(apply, hooks, ahead ?? undefined);
      outcome.applied += result.applied;
      outcome.skipped += result.skipped;
      outcome.superseded.push(...(result.superseded ?? []));
      for (const r of result.rejected) {
        outcome.refused.push(r.change.seq);
        this.logger.warn(
          { seq: r.change.seq, code: r.code, reason: r.reason, retry: reapply },
          reapply ? 'target refused a retried change again; dead letter reopened' : 'target refused a change; recorded as dead letter',
        );
      }
    }
    endTimer();
    if (data.watermark > 0) this.applied = Math.max(this.applied ?? 0, data.watermark);
    return outcome;
  }

  /** After the target committed: the progress goes to the mirror, the counts to the metrics. */
  private account(prepared: PreparedBatch, outcome: WriteOutcome): void {
    const { data, route, reapply, filtered } = prepared;
    const { applied, skipped, refused } = outcome;
    const lastChange = data.changes[data.changes.length - 1];
    const last = reapply || !lastChange ? null : { seq: lastChange.seq, ts: lastChange.ts };
    this.recordCommitted(route.id, { applied, skipped, filtered, last }, data.watermark, data.coveredMicros);
    if (!reapply && refused.length > 0) this.deps.metrics.deadLetters.inc({ route: route.id }, refused.length);
    this.logger.debug({ ...seqRange(data.changes), applied, skipped, filtered, deadLetters: refused.length, retry: reapply }, 'batch applied');
  }

  /**
   * After the target committed a retry job: its letters are resolved (applied,
   * or superseded by a newer change of the row); the refused ones were already
   * reopened by recordRejected. If this fails, the job runs again: reapplying
   * is idempotent (invariant 4).
   */
  private async resolveRetry(data: Pick<RetryJobData, 'changes' | 'retryOf'>, refused: number[], superseded: number[]): Promise<void> {
    const outcomes = retryOutcomes(data, new Set(refused), new Set(superseded));
    await this.deps.deadLetters.resolveRetried(outcomes.filter((o) => o.outcome !== 'refused'));
    for (const o of outcomes) {
      this.deps.metrics.deadLetterRetries.inc({ route: this.route.id, outcome: o.outcome });
      this.logger.info({ seq: o.seq, letter: o.id, outcome: o.outcome }, 'dead letter retried');
    }
  }

  /**
   * The batch's conflict hook. A batch run again with the same changes and
   * the same target rows (after a transient failure, or row by row after a
   * refused row) reuses its first resolution: resolvers do not run twice,
   * conflicts are not counted twice, and a change parked in the first
   * attempt is not taken for one parked behind itself.
   */
  private conflictHook(route: RouteRecord, setup: ConflictSetup, wireBySeq: ReadonlyMap<number, WireChange>): NonNullable<ApplyHooks['resolveConflicts']> {
    const memo = this.resolutions;
    return async (fresh, current) => {
      // Copy records (initial copy, re-sync, repair) are an operator's "make the target equal the source": never conflicts.
      const copies = fresh.filter((change) => copyRouteOf(wireBySeq.get(change.seq)?.origin ?? null) !== null);
      const changes = fresh.filter((change) => !copies.includes(change));
      const signature = conflictSignature(setup.spec, changes, current);
      let resolved = memo.get(signature);
      if (!resolved) {
        resolved = await resolveConflicts(route, setup, changes, current, wireBySeq, { ...this.deps, logger: this.logger });
        if (memo.size >= RESOLUTIONS_KEPT) memo.delete(memo.keys().next().value!);
        memo.set(signature, resolved);
      }
      return [...copies, ...resolved];
    };
  }

  /** After the target committed a person's decision: its parked conflicts are resolved (idempotent if the job runs again). */
  private async resolveParked(resolution: ResolutionJobData['resolution']): Promise<void> {
    const resolved = await this.deps.conflicts.resolve(resolution.conflictIds, { actor: resolution.actor, action: resolution.action, row: resolution.row });
    for (const conflict of resolved) this.logger.info({ seq: conflict.seq, conflict: conflict.id, action: resolution.action, actor: resolution.actor }, 'parked conflict resolved');
  }

  /**
   * The route's conflict policy for this schema: checked against the columns
   * as captured, its version column named as at the target, the columns to
   * compare (not those a change computes), its custom resolver loaded.
   *
   * @throws RouteConfigError (the batch is retried and the route shows why it waits).
   */
  private async conflictSetupFor(route: RouteRecord, plan: RoutePlan, schema: TableSchema): Promise<ConflictSetup> {
    let policy;
    try {
      policy = parseConflictPolicy(route.conflictPolicy, schema.columns)!;
    } catch (error) {
      if (!(error instanceof ConflictPolicyError)) throw error;
      throw new RouteConfigError(`route ${route.id}: the conflict policy does not fit table ${route.table} as captured (schema ${schema.hash}): ${error.message}`);
    }
    const mapping = route.mapping as RouteMapping | null | undefined;
    const column = policy.column === null ? null : targetColumnName(mapping, policy.column);
    const ignored = changeDependentColumns(mapping);
    return {
      policy: { ...policy, column },
      spec: plan.spec,
      compared: plan.spec.columns.map((c) => c.name).filter((name) => !ignored.has(name)),
      custom: policy.resolution === 'custom' ? await this.deps.resolvers.load(policy.resolver!) : null,
    };
  }

  /** @throws RouteConfigError (the batch is retried and the route shows why it waits). */
  private planFor(route: RouteRecord, schema: TableSchema, history: TableHistory): { plan: RoutePlan; rules: RouteRecord } {
    // The job's route, not this.route: a refresh during the job must not mix two configurations in one batch.
    const id = `${schema.hash}\0${routeConfigVersion(route)}\0${history.versionFor(schema.hash)}`;
    let entry = this.plans.get(id);
    if (!entry) {
      // The rules in this schema's column names, and the renames and drops its target table follows first.
      const rules = history.rulesFor(route, schema.hash);
      const planned = routePlan(rules, schema);
      const steps = history.stepsFor(route.id, schema.hash);
      entry = { plan: steps.length > 0 ? { ...planned, spec: withStepDefaults({ ...planned.spec, steps }) } : planned, rules };
      this.plans.set(id, entry);
    }
    return entry;
  }
}

/**
 * A person's merged row (target columns, JSON: bytes as {"$b64": …}) in place
 * of the parked change's after image; columns it leaves out keep the change's values.
 */
function withMergedRow(change: RowChange, row: Record<string, unknown>, spec: { columns: ReadonlyArray<{ name: string }>; key: readonly string[] } | null): RowChange {
  if (!spec) return change;
  const merged: Row = { ...(change.after ?? change.before ?? {}) };
  for (const { name } of spec.columns) {
    if (!(name in row)) continue;
    merged[name] = valueFromJsonSafe(row[name]);
  }
  // A parked delete merged into a row writes that row.
  if (change.op === 'delete') return { seq: change.seq, op: 'insert', key: Object.fromEntries(spec.key.map((k) => [k, merged[k] ?? null])), before: null, after: merged };
  return { ...change, after: merged };
}

/** Resolutions remembered per route: enough for the retries of the batch at the head of the queue. */
const RESOLUTIONS_KEPT = 8;

/** Resolves after pending I/O callbacks have run (setImmediate runs after the poll phase). */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The seqs a job covers, for log lines about it (every line about a change names route and seq). */
function seqRange(changes: readonly WireChange[]): { seq: number | null; lastSeq: number | null } {
  return { seq: changes[0]?.seq ?? null, lastSeq: changes[changes.length - 1]?.seq ?? null };
}

import { RoutePartition, Row, RowChange, TableSchema, TargetTableSpec } from '@tributary/model';

export interface ApplyBatch {
  /** The route's id; for a partition of a partitioned route its feed's (`<route>.p<i>of<n>`, feedId): it names the checkpoint. */
  routeId: string;
  table: TargetTableSpec;
  /** In seq order. May hold several changes of one key, and changes older than the target's rows. */
  changes: RowChange[];
  /**
   * Every change of this route with seq <= watermark is in this batch or an
   * earlier one: saved as the target's checkpoint in the same transaction.
   */
  watermark: number;
  /** Written as `origin` by triggers at a MySQL target (invariant 6), e.g. 'tributary:<source>'. */
  origin: string;
  /**
   * Where the changes come from: the source, its captured table and the
   * schema they were captured with. Targets that send change events (the
   * message brokers) put it in each event. Absent: not known (tests).
   */
  source?: BatchSource;
  /**
   * Retrying dead letters: a change whose seq EQUALS the stored version is
   * applied again (the refused row's version was recorded with that seq, so
   * the route could move on). A change OLDER than the stored version is still
   * skipped — the row has moved on since, and the change is superseded
   * (invariant 4 holds: nothing moves a row backwards). Default false.
   */
  reapply?: boolean;
  /**
   * The batch writes only keys of this partition of its table (a partitioned
   * route's, no key moves in it, no other route writing the table): a target
   * that serialises the writers of a table may let batches of its other
   * partitions write beside this one. Absent: the batch may touch any key.
   */
  partition?: RoutePartition;
  /**
   * The table is written by routes of several sources whose rows can share a
   * key: guard each row by this source's own versions (see SourceVersioning).
   * Absent: the table's one version per row.
   */
  versions?: SourceVersioning;
  /**
   * The target database captures the target table too (it is a source of a
   * multi-leader group), as this schema. With conflict detection, a delete
   * the resolution lets through that finds no row there (it was already
   * gone), or another version of the row than its deleter saw, is written to
   * that database's outbox as the deleter saw the row (its triggers record
   * nothing, or the version they find), so a ring or a star passes on what
   * the deleter decided. MySQL targets only.
   */
  capturedAs?: TableSchema;
}

/** ApplyBatch.source. */
export interface BatchSource {
  id: string;
  table: string;
  schemaHash: string;
}

/**
 * Versions per source (issue #14): a row keeps the last seq of each source
 * that wrote it, so each source's replays stay idempotent and monotonic while
 * different sources' changes apply in arrival order (or as the route's
 * conflict policy decides).
 */
export interface SourceVersioning {
  /** The source the batch's changes come from. */
  source: string;
  /**
   * The source whose versions the table held alone before it had several
   * (the first route's), or null: its versions are carried over key by key.
   */
  legacySource: string | null;
}

/**
 * A batch's apply worked out ahead of time (Target.prepare): opaque to the
 * caller. Good only for the target that made it and that very batch, applied
 * without resolveConflicts; a target ignores any other and plans afresh.
 */
export interface PreparedApply {
  readonly batch: ApplyBatch;
}

/** An open target transaction of several batches (Target.transaction). */
export interface TargetTransaction {
  /**
   * Applies a batch (without conflict detection) inside the transaction.
   * @throws TransactionRefusedError when the target refuses any of its rows.
   */
  apply(batch: ApplyBatch, prepared?: PreparedApply): Promise<ApplyResult>;
}

export interface RejectedChange {
  change: RowChange;
  /** The target's own words: e.g. 'null value in column "x" violates not-null constraint'. */
  reason: string;
  /** Driver error code (SQLSTATE or MySQL code), when there is one. */
  code: string | null;
}

export interface ApplyResult {
  /**
   * Row writes done, after collapsing several changes of one key into its
   * last (an update that moves its key is two writes: delete old, upsert new).
   */
  applied: number;
  /** Row writes skipped because the target already holds that row at a newer or equal seq. */
  skipped: number;
  rejected: RejectedChange[];
  /**
   * Only with `reapply`: seqs of changes that wrote nothing because their row
   * has a newer change (at the target, or later in the same batch).
   */
  superseded?: number[];
}

export interface ApplyHooks {
  /**
   * Called with changes the target refused for good, before the target
   * transaction commits, so they are durably recorded as dead letters before
   * the checkpoint moves past them.
   */
  recordRejected(rejected: RejectedChange[]): Promise<void>;
  /**
   * Conflict detection, for routes with a conflict policy (SQL targets only:
   * others throw TargetConfigError when it is given). Called inside the apply
   * transaction, before any row is written, with the changes the seq guard
   * lets through (replays are not conflicts) and the target's current rows of
   * their keys, locked until commit so a local writer cannot slip in between
   * the decision and the write. Returns the changes to apply instead, each
   * with its own seq; what it records must be durable before it returns, as
   * with recordRejected. An error it throws is rethrown as is, after rollback.
   */
  resolveConflicts?(changes: RowChange[], current: CurrentRows): Promise<RowChange[]>;
  /**
   * With resolveConflicts: remember the before image of every delete it
   * returns (a delete of a row the target lacks included), in the apply
   * transaction, so CurrentRows.deleted knows it later. For a policy that
   * compares versions with deletions (newer-wins); it returns a delete only
   * when its image is newer than the one remembered.
   */
  remembersDeletes?: boolean;
}

/** The target's rows of a batch's keys, as read (and locked) inside the apply transaction. */
export interface CurrentRows {
  /** The row with this key (target key columns), or null if the target has none. */
  get(key: Row): Row | null;
  /**
   * For a key the target has no row for: the last images of the row it
   * remembers deleting, in no order — its own writers' last delete (a MySQL
   * target that is also a captured source keeps its deletes in its outbox:
   * two-way replication) and the last delete Tributary applied there
   * (ApplyHooks.remembersDeletes); empty if none. Lets newer-wins tell a
   * concurrent delete from an old one.
   */
  deleted(key: Row): readonly Row[];
}

export interface TargetCheckpoint {
  routeId: string;
  watermark: number;
  updatedAt: Date;
}

/**
 * One class per kind of target, chosen through the registry. Every
 * implementation passes the shared contract suite (target.contract.ts).
 */
export interface Target {
  readonly kind: string;
  /**
   * Creates the target table (with dialect types) and Tributary's bookkeeping
   * tables if missing. If the table exists, evolves it so the spec's rows fit
   * (the source table changed shape), never destroying data: columns the spec
   * adds are added NULL-able (rows already there have no value); NOT NULL
   * columns the spec drops (or now allows NULL in) become NULL-able and keep
   * their data; no column is dropped or retyped. Idempotent, and safe when
   * several processes call it at once.
   *
   * @throws TargetConfigError if the table's primary key is not the spec's key (that needs a re-sync).
   */
  ensureTable(table: TargetTableSpec): Promise<void>;
  /**
   * Why ensureTable would refuse to use the table as it exists now (e.g. a
   * different primary key), as messages; empty if the table does not exist
   * or fits. Reads only: lets the admin refuse a route before it runs.
   */
  checkTable(table: TargetTableSpec): Promise<string[]>;
  /**
   * Applies a batch in one target transaction, together with the route's
   * checkpoint (invariant 3), guarded per row by seq (invariant 4).
   * Throws TransientTargetError when the whole batch should be retried later
   * (unknown errors included); an error thrown by hooks.recordRejected is
   * rethrown as is, after the transaction was rolled back.
   */
  apply(batch: ApplyBatch, hooks: ApplyHooks, prepared?: PreparedApply): Promise<ApplyResult>;
  /**
   * Optional: the CPU part of apply for a batch without conflict detection
   * (planning, building statements), so a caller can do it while the
   * previous batch is at the target and pass the result to apply.
   */
  prepare?(batch: ApplyBatch): PreparedApply;
  /**
   * Optional (targets with transactions across tables): runs `work`, whose
   * batches may be of any of `tables`, in ONE target transaction, so a
   * reader sees all of them or none (a transactional target, issue #15).
   * Each batch is guarded per row as apply does and moves its checkpoint;
   * nothing is refused alone: a refused row throws TransactionRefusedError
   * and rolls everything back. Other failures throw TransientTargetError.
   * The tables must exist (ensureTable) before it is called.
   */
  transaction?<T>(tables: readonly string[], work: (tx: TargetTransaction) => Promise<T>): Promise<T>;
  readCheckpoint(routeId: string): Promise<TargetCheckpoint | null>;
  /** Reads current rows, decoded to the same value forms as the source (for tests and verify). */
  readRows(table: TargetTableSpec): Promise<Row[]>;
  /**
   * The rows whose key (target key column names, values in the same forms readRows returns) is one of `keys`,
   * decoded exactly like readRows. Keys the target does not hold are simply absent. Order unspecified.
   * Must handle up to a few thousand keys per call efficiently (batch internally: e.g. 500 per statement;
   * composite keys supported: (a,b) IN ((?,?),...) or OR-of-ANDs).
   */
  readRowsByKeys(table: TargetTableSpec, keys: Row[]): Promise<Row[]>;
  /**
   * One page of at most `limit` rows in an order the target chooses (the key order for SQL targets, keyset
   * pagination on the primary key: WHERE key > last ORDER BY key LIMIT n — never OFFSET), continuing after
   * `cursor` (null = from the start). `next` is an opaque string to pass back, or null when there are no more
   * rows. Rows are decoded exactly like readRows. Every row present for the whole scan is returned exactly once.
   */
  scanRows(table: TargetTableSpec, cursor: string | null, limit: number): Promise<{ rows: Row[]; next: string | null }>;
  /** Cheap round trip, for health and connectivity tests. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Where a target is and how to reach it, as stored in the control schema (the url is a secret). */
export interface TargetConnection {
  /** Registry key, e.g. 'postgres' or 'mysql'. */
  kind: string;
  /** Driver URL; may hold a password, so it is never logged or put into an error. */
  url: string;
  /** Kind-specific settings (for the SQL targets: SqlTargetOptions). */
  options?: Record<string, unknown>;
}

/** Builds targets of one kind; registered in a TargetRegistry under `kind`. */
export interface TargetFactory {
  readonly kind: string;
  /**
   * Whether its targets take ApplyHooks.resolveConflicts: their rows can be
   * read and locked inside the apply transaction. Routes with a conflict
   * policy need such a target.
   */
  readonly detectsConflicts: boolean;
  /** Whether its targets keep versions per source (ApplyBatch.versions): a table several sources write with shared keys. */
  readonly versionsPerSource: boolean;
  /** Validates the connection (throws TargetConfigError) and returns a target; connects lazily. */
  create(connection: TargetConnection): Target;
}

import { Knex, KnexTimeoutError } from 'knex';
import { ColumnSpec, decodeValue, keyHash, keyText, RoutePartition, Row, RowChange } from '@tributary/model';
import { BatchPlan, chunk, claimedPlan, GuardedPlan, guardPlan, planBatch, PlannedWrite, StoredVersion } from '../apply-plan';
import { RowRejectedError, TransactionRefusedError, TransientTargetError } from '../errors';
import { imageOf } from './deleted-rows';
import { SqlDialect, Statement, VersionedKey, VersionProtocol, VersionWrite } from './sql-dialect';
import { driverMessage, StatementFailure, transient } from './sql-failures';
import { readTableRowsByKeys, SqlRowReading } from './sql-target-ops';
import { ApplyBatch, ApplyHooks, ApplyResult, PreparedApply, RejectedChange, TargetTransaction } from '../target';

/**
 * What applySqlBatch works out before it talks to the target: the batch's
 * plan (none with conflict detection: that plan is made inside the
 * transaction, from the rows it locked) and, where the dialect has one, the
 * batch as one statement. Pure CPU, so a worker makes it while the previous
 * batch commits.
 */
export interface SqlBatchPlan {
  readonly batch: ApplyBatch;
  readonly plan: BatchPlan | null;
  readonly oneStatement: Statement | null;
}

/** Target.prepare of the SQL targets: their plan, tied to the target that made it. */
class PreparedSqlBatch implements PreparedApply {
  constructor(
    readonly owner: object,
    readonly planned: SqlBatchPlan,
  ) {}

  get batch(): ApplyBatch {
    return this.planned.batch;
  }
}

export function prepareSqlBatch(owner: object, dialect: SqlDialect, batch: ApplyBatch): PreparedApply {
  return new PreparedSqlBatch(owner, planSqlBatch(dialect, batch, false));
}

/** The plan inside `prepared` if `owner` made it (else undefined: apply plans afresh). */
export function sqlPlanOf(owner: object, prepared: PreparedApply | undefined): SqlBatchPlan | undefined {
  return prepared instanceof PreparedSqlBatch && prepared.owner === owner ? prepared.planned : undefined;
}

export function planSqlBatch(dialect: SqlDialect, batch: ApplyBatch, withConflicts: boolean): SqlBatchPlan {
  const plan = withConflicts ? null : planBatch(batch.table, batch.changes);
  // Versions per source are guarded in their own table: no one-statement path for them.
  const fits = plan && !batch.versions && dialect.applyInOneStatement && plan.invalid.length === 0 && plan.writes.length <= dialect.rowsPerStatement(batch.table);
  let oneStatement: Statement | null = null;
  try {
    if (fits) oneStatement = dialect.applyInOneStatement!(batch, plan.writes);
  } catch (error) {
    // A row the statement cannot carry (RowRejectedError): the transaction path applies the batch
    // and refuses that row alone, as a dead letter. Planning never fails a batch by itself.
    if (!(error instanceof RowRejectedError)) throw error;
  }
  return { batch, plan, oneStatement };
}

/**
 * The apply transaction shared by the SQL targets: rows, their versions and
 * the checkpoint commit together (invariant 3), each row guarded by seq
 * (invariant 4; how the versions are kept is the dialect's VersionProtocol).
 * A data error in the fast multi-row path reruns the batch row by row so only
 * the refused rows become dead letters. `planned`, if given, is
 * planSqlBatch's for this very batch and these hooks (made ahead of time).
 */
export async function applySqlBatch(
  knex: Knex,
  dialect: SqlDialect,
  batch: ApplyBatch,
  hooks: ApplyHooks,
  reading: SqlRowReading,
  planned?: SqlBatchPlan,
): Promise<ApplyResult> {
  const resolve = hooks.resolveConflicts;
  const { plan, oneStatement } = planned && planned.batch === batch && (planned.plan === null) === Boolean(resolve) ? planned : planSqlBatch(dialect, batch, Boolean(resolve));
  // With conflict detection the plan is made inside the transaction, from the rows it locked.
  const planIn = (trx: Knex.Transaction) => (plan ? Promise.resolve(plan) : resolvedPlan(trx, dialect, reading, batch, hooks));
  const config = resolve ? dialect.conflicts.transaction : dialect.transaction;
  return withTableLocks(knex, dialect, [{ tableName: batch.table.name, partition: batch.partition }], async (session) => {
    try {
      if (plan && oneStatement) return await applyInOneStatement(session, dialect, batch, plan.writes, oneStatement);
      return await inTransaction(session, config, async (trx) => applyIn(trx, dialect, batch, await planIn(trx), hooks, 'batch'));
    } catch (error) {
      if (error instanceof HookFailure) throw error.cause;
      if (dataError(error) === null) throw transient(dialect, error);
    }
    try {
      return await inTransaction(session, config, async (trx) => applyIn(trx, dialect, batch, await planIn(trx), hooks, 'row'));
    } catch (error) {
      if (error instanceof HookFailure) throw error.cause;
      throw transient(dialect, error);
    }
  });
}

/** Where an apply runs its statements: the pool, or the one connection that holds the table lock. */
interface Session {
  raw(statement: Statement): Promise<unknown>;
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>, config: Knex.TransactionConfig | undefined): Promise<T>;
}

/**
 * How long an apply waits for another writer's table lock: far longer than
 * any batch takes. Past it the batch is retried later with a message saying
 * why (a writer whose connection died unseen holds it until the server drops
 * that connection).
 */
const TABLE_LOCK_WAIT_MS = 60_000;

/** A table lock to take (SqlDialect.tableLock): the whole table, or a partition's keys of it. */
interface TableLockSpec {
  tableName: string;
  partition?: RoutePartition;
}

/**
 * Runs `work` holding the dialect's table lock (SqlDialect.tableLock) of
 * each of `locks` — taken in the order given, which callers keep sorted by
 * table so two appliers of overlapping tables queue instead of deadlocking —
 * all on the connection that took them; without a dialect lock, on the
 * pool. The locks are released on that connection before it goes back to
 * the pool; if releasing fails, the connection is discarded instead (knex
 * drops a connection marked disposed when it comes back; closing it
 * releases the locks).
 */
async function withTableLocks<T>(knex: Knex, dialect: SqlDialect, locks: readonly TableLockSpec[], work: (session: Session) => Promise<T>): Promise<T> {
  const lock = dialect.tableLock;
  if (!lock || locks.length === 0) {
    return work({ raw: (statement) => knex.raw(statement.sql, statement.params), transaction: (inner, config) => knex.transaction(inner, config) });
  }
  let connection: unknown;
  try {
    connection = await knex.client.acquireConnection();
  } catch (error) {
    throw transient(dialect, error);
  }
  const session: Session = {
    raw: (statement) => knex.raw(statement.sql, statement.params).connection(connection),
    transaction: (inner, config) => knex.transaction(inner, { ...config, connection }),
  };
  const held: TableLockSpec[] = [];
  try {
    for (const spec of locks) {
      const acquire = lock.acquire(spec.tableName, spec.partition);
      try {
        await knex.raw(acquire.sql, acquire.params).connection(connection).timeout(TABLE_LOCK_WAIT_MS, { cancel: true });
      } catch (error) {
        if (error instanceof KnexTimeoutError) {
          throw new TransientTargetError(
            `${dialect.kind} target: table ${spec.tableName} stayed locked by another writer for ${TABLE_LOCK_WAIT_MS / 1000} s; retrying later`,
            null,
            { cause: error },
          );
        }
        throw transient(dialect, error);
      }
      held.push(spec);
    }
    return await work(session);
  } finally {
    for (const spec of held.reverse()) {
      await run(session, dialect, lock.release(spec.tableName, spec.partition)).catch((error: unknown) => {
        (connection as { __knex__disposed?: unknown }).__knex__disposed = error;
      });
    }
    await knex.client.releaseConnection(connection);
  }
}

/**
 * Target.transaction of the SQL targets: `work`'s batches, of any of
 * `tables`, in one transaction under every table's lock. A batch runs in a
 * savepoint; when the target refuses one of its rows, the batch is run again
 * row by row to name them, and TransactionRefusedError rolls everything back.
 */
export async function runSqlTransaction<T>(
  owner: object,
  knex: Knex,
  dialect: SqlDialect,
  tables: readonly string[],
  work: (tx: TargetTransaction) => Promise<T>,
): Promise<T> {
  const locks = [...new Set(tables)].sort().map((tableName) => ({ tableName }));
  // What `work` throws is its own (TransactionRefusedError, or the caller's): it goes back unchanged.
  const fromWork = new WeakSet<object>();
  return withTableLocks(knex, dialect, locks, async (session) => {
    try {
      return await session.transaction(async (trx) => {
        try {
          return await work(new SqlTargetTransaction(owner, trx, dialect));
        } catch (error) {
          if (error instanceof Object) fromWork.add(error);
          throw error;
        }
      }, dialect.transaction);
    } catch (error) {
      if (error instanceof Object && fromWork.has(error)) throw error;
      throw transient(dialect, error);
    }
  });
}

/** Refuses every row the target refuses: inside a transaction of several batches nothing becomes a dead letter. */
const REFUSING_HOOKS = (tableName: string): ApplyHooks => ({
  recordRejected: (rejected) => Promise.reject(new TransactionRefusedError(rejected, tableName)),
});

const BATCH_SAVEPOINT = 'tributary_batch';

class SqlTargetTransaction implements TargetTransaction {
  constructor(
    private readonly owner: object,
    private readonly trx: Knex.Transaction,
    private readonly dialect: SqlDialect,
  ) {}

  async apply(batch: ApplyBatch, prepared?: PreparedApply): Promise<ApplyResult> {
    const { trx, dialect } = this;
    const ahead = sqlPlanOf(this.owner, prepared);
    const { plan, oneStatement } = ahead && ahead.batch === batch && ahead.plan ? ahead : planSqlBatch(dialect, batch, false);
    const hooks = REFUSING_HOOKS(batch.table.name);
    try {
      await run(trx, dialect, { sql: `SAVEPOINT ${BATCH_SAVEPOINT}`, params: [] });
      try {
        const result = oneStatement ? await applyInOneStatement(trx, dialect, batch, plan!.writes, oneStatement) : await applyIn(trx, dialect, batch, plan!, hooks, 'batch');
        await run(trx, dialect, { sql: `RELEASE SAVEPOINT ${BATCH_SAVEPOINT}`, params: [] });
        return result;
      } catch (error) {
        if (error instanceof HookFailure || dataError(error) === null) throw error;
      }
      // Row by row, to name the refused rows (applyIn hands them to the hook, which throws).
      await run(trx, dialect, { sql: `ROLLBACK TO SAVEPOINT ${BATCH_SAVEPOINT}`, params: [] });
      return await applyIn(trx, dialect, batch, plan!, hooks, 'row');
    } catch (error) {
      if (error instanceof HookFailure) throw error.cause;
      throw transient(dialect, error);
    }
  }
}

/** The dialect's one-statement fast path (SqlDialect.applyInOneStatement): nothing refused, so no hook to call. */
async function applyInOneStatement(session: Session | Knex.Transaction, dialect: SqlDialect, batch: ApplyBatch, writes: PlannedWrite[], statement: Statement): Promise<ApplyResult> {
  const result = await run(session, dialect, statement);
  const won = new Set(dialect.rows(result).map((row) => String(row.key_hash)));
  const guarded = claimedPlan(writes, won);
  const applied: ApplyResult = { applied: guarded.writes.length, skipped: guarded.skipped.length, rejected: [] };
  if (batch.reapply) applied.superseded = supersededSeqs(batch, guarded.writes, []);
  return applied;
}

/**
 * Conflict detection's part of the transaction: which changes are fresh
 * (a replay the seq guard will skip is no conflict), the target's current
 * rows of their keys read and locked, and the hook's resolution planned in
 * place of the fresh changes.
 */
async function resolvedPlan(
  trx: Knex.Transaction,
  dialect: SqlDialect,
  reading: SqlRowReading,
  batch: ApplyBatch,
  hooks: ApplyHooks,
): Promise<BatchPlan> {
  const resolve = hooks.resolveConflicts!;
  const table = batch.table;
  for (const statement of dialect.begin(batch)) await run(trx, dialect, statement);
  const hashOf = (change: RowChange) => keyHash(table.name, table.key, change.key);
  const versioned = new Map<string, VersionedKey>();
  for (const change of batch.changes) {
    const hash = hashOf(change);
    versioned.set(hash, { keyHash: hash, key: change.key });
  }
  // MySQL: every read up to the current rows' is a locking one. In REPEATABLE READ the transaction's
  // snapshot is taken at its first plain read (ownDeletes, of the outbox), which must come after those
  // locks, or a local delete committed while this batch waited for its row would be missing from it.
  const stored = new Map<string, number>();
  if (batch.versions) {
    for (const [hash, version] of await sourceVersionsOf(trx, dialect, batch, [...versioned.values()], dialect.conflicts.versionsLockClause)) stored.set(hash, version.seq);
  } else {
    for (const part of chunk([...versioned.values()], 1000)) {
      const statement = dialect.conflicts.readVersions(table, part);
      const result = await run(trx, dialect, { sql: statement.sql + dialect.conflicts.versionsLockClause, params: statement.params });
      for (const row of dialect.rows(result)) stored.set(String(row.key_hash), Number(row.seq));
    }
  }
  const isReplay = (change: RowChange) => {
    const seq = stored.get(hashOf(change));
    return seq !== undefined && (batch.reapply ? change.seq < seq : change.seq <= seq);
  };
  const replays = batch.changes.filter(isReplay);
  const fresh = batch.changes.filter((change) => !isReplay(change));
  if (fresh.length === 0) return planBatch(table, batch.changes);

  // Both keys of a change: an update can move its row, and the target may hold either.
  const keys: Row[] = [];
  for (const change of fresh) {
    keys.push(change.key);
    for (const image of [change.before, change.after]) if (image) keys.push(Object.fromEntries(table.key.map((name) => [name, image[name] ?? null])));
  }
  const rows = await readTableRowsByKeys(reading, table, keys, async (sql, params) =>
    dialect.rows(await run(trx, dialect, { sql: sql + dialect.conflicts.lockClause, params })),
  );
  const current = new Map(rows.map((row) => [keyText(table.key, row), row]));
  const absent = uniqueByText(table.key, keys.filter((key) => !current.has(keyText(table.key, key))));
  const deleted = new Map<string, Row[]>();
  const remember = (text: string, image: Row) => deleted.set(text, [...(deleted.get(text) ?? []), image]);
  if (absent.length > 0) {
    for (const [text, image] of await ownDeletes(trx, dialect, table, absent)) remember(text, image);
    for (const [text, image] of await appliedDeletes(trx, dialect, table, absent)) remember(text, image);
  }
  let resolved: RowChange[];
  try {
    resolved = await resolve(fresh, {
      get: (key) => current.get(keyText(table.key, key)) ?? null,
      deleted: (key) => deleted.get(keyText(table.key, key)) ?? [],
    });
  } catch (error) {
    throw new HookFailure(error);
  }
  if (hooks.remembersDeletes) {
    const deletions = [...new Map(resolved.filter((c) => c.op === 'delete' && c.before).map((c) => [hashOf(c), { keyHash: hashOf(c), image: c.before! }])).values()];
    for (const part of chunk(deletions, 500)) await run(trx, dialect, dialect.deletedRows.remember(table.name, part));
  }
  const plan = planBatch(table, [...replays, ...resolved]);
  const record = dialect.conflicts.recordUnseenDeletes;
  if (batch.capturedAs && record) {
    // Replays are skipped by the guard: only the resolved changes write anything.
    const fresh = new Set(resolved);
    const writes = plan.writes.filter((write) => fresh.has(write.change));
    const unseen = unseenDeletes(table, writes, (key) => current.get(keyText(table.key, key)) ?? null).map((c) => ({ before: c.before!, origin: c.origin ?? batch.origin }));
    for (const part of chunk(unseen, 500)) await run(trx, dialect, record(batch.capturedAs, part));
  }
  return plan;
}

/**
 * The deletes (with a before image) whose change record the target's
 * triggers cannot write as the deleter saw the row (ApplyBatch.capturedAs):
 * the target holds no row of the key (nothing is deleted, no trigger fires),
 * or another version of it (the trigger records that one, older than what
 * the deleter saw, and the next database could keep a row it should
 * delete). `writes` is the batch's plan (each key once, its last change over
 * the row it held before the batch), so that row is what a delete meets; a
 * delete followed by a write of its key is never run.
 */
function unseenDeletes(table: ApplyBatch['table'], writes: readonly PlannedWrite[], held: (key: Row) => Row | null): RowChange[] {
  return writes
    .filter((write) => write.kind === 'delete' && write.change.op === 'delete' && write.change.before)
    .filter((write) => {
      const row = held(write.key);
      return row === null || !sameRow(table, row, write.change.before!);
    })
    .map((write) => write.change);
}

/** Whether two rows hold the same values in every column of the table. */
function sameRow(table: ApplyBatch['table'], a: Row, b: Row): boolean {
  return table.columns.every((column) => keyText([column.name], a) === keyText([column.name], b));
}

/**
 * The deletions Tributary applied of these keys (ApplyHooks.remembersDeletes),
 * by key text, locked until commit like the rows: a batch deciding on a key
 * and one remembering its deletion then queue rather than pass each other.
 */
async function appliedDeletes(trx: Knex.Transaction, dialect: SqlDialect, table: ApplyBatch['table'], keys: Row[]): Promise<Map<string, Row>> {
  const byHash = new Map(keys.map((key) => [keyHash(table.name, table.key, key), keyText(table.key, key)]));
  const deleted = new Map<string, Row>();
  for (const part of chunk([...byHash.keys()], 500)) {
    const statement = dialect.deletedRows.read(table.name, part);
    const result = await run(trx, dialect, { sql: statement.sql + dialect.conflicts.lockClause, params: statement.params });
    for (const row of dialect.rows(result)) deleted.set(byHash.get(String(row.key_hash))!, imageOf(String(row.image)));
  }
  return deleted;
}

/** The target's own latest deletes of these keys (CurrentRows.deleted), decoded; empty where the dialect cannot tell. */
async function ownDeletes(trx: Knex.Transaction, dialect: SqlDialect, table: ApplyBatch['table'], keys: Row[]): Promise<Map<string, Row>> {
  const deleted = new Map<string, Row>();
  if (!dialect.conflicts.readDeleted) return deleted;
  try {
    for (const part of chunk(keys, 200)) {
      const statement = dialect.conflicts.readDeleted(table, part);
      for (const raw of dialect.rows(await trx.raw(statement.sql, statement.params))) {
        const key = decodeWire(table.columns.filter((c) => table.key.includes(c.name)), String(raw.pk));
        const text = keyText(table.key, key);
        // Newest first: the first image of a key is its last delete.
        if (!deleted.has(text) && raw.before_image) deleted.set(text, decodeWire(table.columns, String(raw.before_image)));
      }
    }
  } catch (error) {
    // No outbox in the target database (it is not a captured source): nothing is known about its deletes.
    if ((error as { errno?: number }).errno === 1146) return new Map();
    throw error;
  }
  return deleted;
}

/** A wire-form JSON image (as the capture triggers write it) decoded for the given columns; others are left out. */
function decodeWire(columns: readonly ColumnSpec[], text: string): Row {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const row: Row = {};
  for (const column of columns) if (column.name in raw) row[column.name] = decodeValue(column, raw[column.name]);
  return row;
}

function uniqueByText(key: readonly string[], rows: Row[]): Row[] {
  return [...new Map(rows.map((row) => [keyText(key, row), row])).values()];
}

/** Transactions rerun at most this often when they lose a race for a new key's version. */
const RACE_ATTEMPTS = 3;

async function inTransaction(
  session: Session,
  config: Knex.TransactionConfig | undefined,
  work: (trx: Knex.Transaction) => Promise<ApplyResult>,
): Promise<ApplyResult> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await session.transaction(work, config);
    } catch (error) {
      // Rolled back before any row was written; the rerun finds and locks the versions the other
      // transaction committed. Still losing after a few reruns is a busy target: transient.
      if (!(error instanceof LostVersionRace) || attempt >= RACE_ATTEMPTS) throw error;
    }
  }
}

type Mode = 'batch' | 'row';

async function applyIn(
  trx: Knex.Transaction,
  dialect: SqlDialect,
  batch: ApplyBatch,
  plan: BatchPlan,
  hooks: ApplyHooks,
  mode: Mode,
): Promise<ApplyResult> {
  // With conflict detection, resolvedPlan ran them already (the origin marker must precede every write).
  if (!hooks.resolveConflicts) for (const statement of dialect.begin(batch)) await run(trx, dialect, statement);
  const { writes, skipped, pending } = await guard(trx, dialect, batch, plan.writes);
  const rejected = [...plan.invalid];
  const failed = mode === 'batch' ? await writeBatch(trx, dialect, batch, writes) : await writeRows(trx, dialect, batch, writes);
  for (const failure of failed) {
    // An update that moved its key is two writes but one change: one dead letter.
    if (!rejected.some((r) => r.change === failure.change)) rejected.push(failure);
  }
  const versions = dialect.versions;
  if (batch.versions) {
    // This source's versions, refused rows' included (the route moves on; a replay does not refuse them again).
    const { source } = batch.versions;
    for (const part of chunk(versionsOf(pending), 1000)) await run(trx, dialect, dialect.sourceVersions.write(batch.table.name, source, part));
  } else if (versions.mode === 'lock') {
    // Refused rows get their version too, so the route moves on and a replay does not refuse them again.
    for (const part of chunk(versionsOf(pending), 1000)) await run(trx, dialect, versions.write(batch.table.name, part));
  } else if (versions.mode === 'row' && failed.length > 0) {
    // Their rows hold no version: it goes to the version table, so a replay skips them as above.
    const refused = new Set(failed.map((f) => f.change));
    const kept = versionsOf(writes.filter((w) => refused.has(w.change)));
    for (const part of chunk(kept, 1000)) await run(trx, dialect, versions.keepRefused(batch.table.name, part));
  }
  await run(trx, dialect, dialect.upsertCheckpoint(batch.routeId, batch.watermark));
  if (rejected.length > 0) {
    // Dead letters are durable before the checkpoint passes them (invariant 9, then 3).
    try {
      await hooks.recordRejected(rejected);
    } catch (error) {
      throw new HookFailure(error);
    }
  }
  const result: ApplyResult = { applied: writes.length - failed.length, skipped: skipped.length, rejected };
  if (batch.reapply) result.superseded = supersededSeqs(batch, writes, rejected);
  return result;
}

/** A guarded plan, and the writes whose versions are still to be written after the rows. */
interface Guarded extends GuardedPlan {
  pending: PlannedWrite[];
}

/**
 * Invariant 4: which planned writes are newer than the target's rows (or, with
 * `reapply`, as new), with the versions of those rows locked until commit.
 */
async function guard(trx: Knex.Transaction, dialect: SqlDialect, batch: ApplyBatch, writes: PlannedWrite[]): Promise<Guarded> {
  if (batch.versions) {
    if (writes.length === 0) return { writes: [], skipped: [], pending: [] };
    const stored = await sourceVersionsOf(trx, dialect, batch, writes);
    // Every version is written after the rows (applyIn), refused rows' included.
    const guarded = guardPlan(writes, stored, { reapply: batch.reapply });
    return { ...guarded, pending: guarded.writes };
  }
  const versions = dialect.versions;
  if (versions.mode === 'lock') return lockVersions(trx, dialect, versions, batch, writes);
  if (writes.length === 0) return { writes: [], skipped: [], pending: [] };
  if (versions.mode === 'row') {
    // Read only: the versions are written with the rows, and the table lock keeps other writers out.
    const newer = new Set<string>();
    for (const part of chunk(writes, dialect.rowsPerStatement(batch.table))) {
      const result = await run(trx, dialect, versions.newer(batch.table, part, { reapply: batch.reapply === true }));
      for (const row of dialect.rows(result)) newer.add(String(row.key_hash));
    }
    return { ...claimedPlan(writes, newer), pending: [] };
  }
  // Versions first. Written before the rows and kept for rows refused later (row by row), so the
  // route moves on and a replay does not refuse them again. In key_hash order: overlapping
  // batches take the version locks in one order and queue instead of deadlocking.
  const claims = versionsOf(writes).sort(byKeyHash);
  const result = await run(trx, dialect, versions.claim(batch.table.name, claims, { reapply: batch.reapply === true }));
  const won = new Set(dialect.rows(result).map((row) => String(row.key_hash)));
  return { ...claimedPlan(writes, won), pending: [] };
}

/**
 * The 'lock' protocol. `SELECT … FOR UPDATE` locks only versions that exist:
 * two transactions applying a key never seen before would both find nothing,
 * both pass the guard, and the older could overwrite the newer's row. So a key
 * without a version gets it inserted at once, which locks it too; if another
 * transaction inserted it in between (we waited for it, then IGNORE skipped
 * the row), this transaction lost the race and reruns (LostVersionRace).
 */
async function lockVersions(
  trx: Knex.Transaction,
  dialect: SqlDialect,
  protocol: Extract<VersionProtocol, { mode: 'lock' }>,
  batch: ApplyBatch,
  writes: PlannedWrite[],
): Promise<Guarded> {
  const tableName = batch.table.name;
  const stored = new Map<string, StoredVersion>();
  for (const hashes of chunk(writes.map((w) => w.keyHash), 1000)) {
    const result = await run(trx, dialect, protocol.lock(tableName, hashes));
    for (const row of dialect.rows(result)) {
      stored.set(String(row.key_hash), { seq: Number(row.seq), deleted: row.deleted === true || Number(row.deleted) === 1 });
    }
  }
  const fresh = versionsOf(writes.filter((w) => !stored.has(w.keyHash))).sort(byKeyHash);
  for (const part of chunk(fresh, 1000)) {
    const result = await run(trx, dialect, protocol.insertNew(tableName, part));
    if (protocol.inserted(result) !== part.length) throw new LostVersionRace();
  }
  const guarded = guardPlan(writes, stored, { reapply: batch.reapply });
  // Fresh keys' versions are written already (refused rows included); the others follow the rows.
  return { ...guarded, pending: guarded.writes.filter((w) => stored.has(w.keyHash)) };
}

/**
 * The batch's source's version of each key (ApplyBatch.versions), locked
 * until commit. Keys this source never wrote get a version of 0 (which also
 * locks them), so two batches of one source cannot both take a new key as
 * theirs. First, the legacy source's versions — the table's one version per
 * row from before it had several sources — are carried over for keys that
 * have none yet, before this batch's writes overwrite them.
 */
async function sourceVersionsOf(
  trx: Knex.Transaction,
  dialect: SqlDialect,
  batch: ApplyBatch,
  keys: readonly VersionedKey[],
  /** Appended to the read of the legacy versions (the conflict path's reads all lock: resolvedPlan). */
  lockClause = '',
): Promise<Map<string, StoredVersion>> {
  const { source, legacySource } = batch.versions!;
  const tableName = batch.table.name;
  const unique = [...new Map(keys.map((k) => [k.keyHash, { keyHash: k.keyHash, key: k.key }])).values()].sort(byKeyHash);
  const statements = dialect.sourceVersions;
  for (const part of chunk(unique, 1000)) {
    if (legacySource !== null) {
      // Every key gets the legacy source's version now (0 if the table has none for it): carried over once,
      // before any source's write replaces the table's own version with its seq.
      const read = dialect.conflicts.readVersions(batch.table, part);
      const legacy = new Map(dialect.rows(await run(trx, dialect, { sql: read.sql + lockClause, params: read.params })).map((row) => [String(row.key_hash), Number(row.seq)]));
      const carried = part.map((k) => ({ keyHash: k.keyHash, seq: legacy.get(k.keyHash) ?? 0, deleted: false }));
      await run(trx, dialect, statements.insertMissing(tableName, legacySource, carried));
    }
    await run(trx, dialect, statements.insertMissing(tableName, source, part.map((k) => ({ keyHash: k.keyHash, seq: 0, deleted: false }))));
  }
  const stored = new Map<string, StoredVersion>();
  for (const part of chunk(unique, 1000)) {
    const result = await run(trx, dialect, statements.lock(tableName, source, part.map((k) => k.keyHash)));
    for (const row of dialect.rows(result)) {
      stored.set(String(row.key_hash), { seq: Number(row.seq), deleted: row.deleted === true || Number(row.deleted) === 1 });
    }
  }
  return stored;
}

function byKeyHash(a: { keyHash: string }, b: { keyHash: string }): number {
  return a.keyHash < b.keyHash ? -1 : a.keyHash > b.keyHash ? 1 : 0;
}

function versionsOf(writes: readonly PlannedWrite[]): VersionWrite[] {
  return writes.map((w) => ({ keyHash: w.keyHash, seq: w.seq, deleted: w.kind === 'delete' }));
}

/**
 * Changes of a reapplied batch that wrote nothing and were not refused: their
 * row holds a newer change, so the dead letter is resolved without a write.
 */
function supersededSeqs(batch: ApplyBatch, writes: PlannedWrite[], rejected: RejectedChange[]): number[] {
  const refused = new Set(rejected.map((r) => r.change));
  const written = new Set(writes.filter((w) => !refused.has(w.change)).map((w) => w.change));
  return batch.changes.filter((c) => !written.has(c) && !refused.has(c)).map((c) => c.seq);
}

/** The hot path: a few multi-row statements per batch. Any data error aborts it (the caller reruns by row). */
async function writeBatch(
  trx: Knex.Transaction,
  dialect: SqlDialect,
  batch: ApplyBatch,
  writes: PlannedWrite[],
): Promise<RejectedChange[]> {
  const size = dialect.rowsPerStatement(batch.table);
  const origins = new OriginMarker(trx, dialect, batch);
  // Deletes first, then upserts; within each, one run of statements per origin the rows carry.
  for (const kind of ['delete', 'upsert'] as const) {
    for (const [origin, group] of origins.groups(writes.filter((w) => w.kind === kind))) {
      await origins.set(origin);
      for (const part of chunk(group, size)) {
        await run(trx, dialect, kind === 'delete' ? dialect.deleteRows(batch.table, part) : dialect.upsertRows(batch.table, part));
      }
    }
  }
  return [];
}

/**
 * The origin the writes of a transaction carry at the target (invariant 6):
 * the batch's, set by SqlDialect.begin, or a forwarded change's own
 * (RowChange.origin), set just before its rows are written.
 */
class OriginMarker {
  private current: string;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly dialect: SqlDialect,
    private readonly batch: ApplyBatch,
  ) {
    this.current = batch.origin;
  }

  originOf(write: PlannedWrite): string {
    return this.dialect.originMarker ? write.change.origin ?? this.batch.origin : this.batch.origin;
  }

  /** The writes by origin, in the order each origin first appears (a batch without forwarded changes: one group). */
  groups(writes: readonly PlannedWrite[]): Array<[string, PlannedWrite[]]> {
    const groups = new Map<string, PlannedWrite[]>();
    for (const write of writes) {
      const origin = this.originOf(write);
      const group = groups.get(origin);
      if (group) group.push(write);
      else groups.set(origin, [write]);
    }
    return [...groups];
  }

  async set(origin: string): Promise<void> {
    if (origin === this.current || !this.dialect.originMarker) return;
    await run(this.trx, this.dialect, this.dialect.originMarker(origin));
    this.current = origin;
  }
}

const SAVEPOINT = 'tributary_row';

/** The slow path: one savepoint per write, so a refused row rolls back alone. */
async function writeRows(
  trx: Knex.Transaction,
  dialect: SqlDialect,
  batch: ApplyBatch,
  writes: PlannedWrite[],
): Promise<RejectedChange[]> {
  const failed: RejectedChange[] = [];
  const origins = new OriginMarker(trx, dialect, batch);
  for (const write of writes) {
    await origins.set(origins.originOf(write));
    let statement: Statement;
    try {
      statement = write.kind === 'delete' ? dialect.deleteRows(batch.table, [write]) : dialect.upsertRows(batch.table, [write]);
    } catch (error) {
      if (!(error instanceof RowRejectedError)) throw error;
      failed.push({ change: write.change, reason: error.message, code: error.code });
      continue;
    }
    await run(trx, dialect, { sql: `SAVEPOINT ${SAVEPOINT}`, params: [] });
    try {
      await run(trx, dialect, statement);
    } catch (error) {
      const data = dataError(error);
      if (data === null) throw error;
      await run(trx, dialect, { sql: `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`, params: [] });
      await run(trx, dialect, { sql: `RELEASE SAVEPOINT ${SAVEPOINT}`, params: [] });
      failed.push({ change: write.change, reason: data.reason, code: data.code });
      continue;
    }
    await run(trx, dialect, { sql: `RELEASE SAVEPOINT ${SAVEPOINT}`, params: [] });
  }
  return failed;
}

/** Another transaction inserted the version of a key this one found without one: rerun (see lockVersions). */
class LostVersionRace extends Error {
  constructor() {
    super('another transaction wrote the first version of a key in this batch at the same time');
    this.name = 'LostVersionRace';
  }
}

/** The caller's dead-letter hook failed: its error goes back to the caller unchanged. */
class HookFailure extends Error {
  constructor(cause: unknown) {
    super('recordRejected failed', { cause });
  }
}

async function run(trx: Knex.Transaction | Session, dialect: SqlDialect, statement: Statement): Promise<unknown> {
  try {
    return await ('commit' in trx ? trx.raw(statement.sql, statement.params) : trx.raw(statement));
  } catch (error) {
    throw new StatementFailure(dialect.classify(error), driverMessage(error, statement.sql), { cause: error });
  }
}

function dataError(error: unknown): { reason: string; code: string | null } | null {
  if (error instanceof RowRejectedError) return { reason: error.message, code: error.code };
  if (error instanceof StatementFailure && error.errorClass.kind === 'data') {
    return { reason: error.reason, code: error.errorClass.code };
  }
  return null;
}

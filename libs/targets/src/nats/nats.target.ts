import { connect } from '@nats-io/transport-node';
import { headers, NatsConnection } from '@nats-io/nats-core';
import { Consumer, DeliverPolicy, DiscardPolicy, JetStreamApiError, JetStreamClient, jetstream, JetStreamManager, jetstreamManager, RetentionPolicy, StorageType, StreamInfo } from '@nats-io/jetstream';
import { Row, RowChange, TargetTableSpec } from '@tributary/model';
import { PlannedWrite, planBatch } from '../apply-plan';
import { TargetConfigError, TransientTargetError } from '../errors';
import { checkScanLimit, decodeKeyCursor, encodeKeyCursor, keyIdentity } from '../key-cursor';
import { compareByKey } from '../row-order';
import { evolvedTable, ExistingTable, tableProblems } from '../sql/table-evolution';
import { validateTableSpec } from '../table-spec';
import { ApplyBatch, ApplyHooks, ApplyResult, RejectedChange, Target, TargetCheckpoint, TargetConnection, TargetFactory } from '../target';
import { parseEvent, TableFold } from './nats-fold';
import { EMPTY_SUBJECT, eventSeqOf, messageId, shouldPublish, SubjectVersion, SubjectVersions } from './nats-guard';
import { eventHeaders, OutgoingEvent, outgoingEvents, streamCovers, tableFilter } from './nats-messages';
import { checkNatsUrl, NatsServer, natsTargetOptions, NatsTargetOptions, scrub } from './nats-options';
import { checkRecordedShape, ProcessCheckpoints, sendableChanges } from '../unstored-tables';

interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** What one message came to. */
type Outcome = { kind: 'published' } | { kind: 'duplicate' } | { kind: 'stale' } | { kind: 'rejected'; reason: string; code: string };

/** JetStream API error codes the target acts on (nats-server's errors.json). */
const API = {
  streamNotFound: 10059,
  streamNameInUse: 10058,
  subjectsOverlap: 10065,
  expectedStreamMismatch: 10060,
  wrongLastSequence: 10071,
  messageTooLarge: 10054,
};

/** The server's default max_payload, when it does not say. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Subjects whose last version this process remembers (nats-guard.ts). */
const REMEMBERED_SUBJECTS = 100_000;
/** Refused publishes of one message (another writer on its subject each time) before the batch fails as transient. */
const MAX_GUARD_ATTEMPTS = 10;
/** Messages an ordered consumer buffers while a table is folded. */
const FOLD_BATCH = 1000;

/**
 * NATS JetStream target (issue #18): every change becomes a change event
 * (events/change-event.ts) published on `<prefix>.<source>.<table>.<bucket>.<key>`
 * into one stream, which the target creates (subjects `<prefix>.>`, file
 * storage, limits retention without limits) unless told otherwise.
 *
 * Delivery is at least once, in order per key. The stream has no
 * transaction to keep a checkpoint in: the worker's progress in the control
 * schema is the route's durable checkpoint, and readCheckpoint reports what
 * this process had acknowledged (memory), as on the HTTP target. apply
 * returns only after the server acknowledged (stored) every message of the
 * batch, up to maxInFlight publishes awaiting their acks at once; any
 * failure fails the batch as transient and the worker publishes it again
 * from the start.
 *
 * Invariant 4 is kept in the stream itself (nats-guard.ts): a key has one
 * subject, and a change is published only if its seq is newer than the one
 * of the subject's last event, with the subject's last stream sequence as
 * the publish's expectation, so two writers of one key cannot interleave
 * and a replay, a late older change or a retried batch adds nothing. Each
 * key's events in the stream therefore come in increasing seq. Each message
 * also carries the event id as `Nats-Msg-Id`, so a publish repeated within
 * the stream's duplicate window is stored once. The messages of one key
 * wait for each other's acks (each one's stream sequence is the next one's
 * expectation); different keys are published side by side, so the stream
 * follows the batch's order per key, not across keys.
 * Counts are as on every target: row writes after collapsing a key's
 * changes into its last (a key move is two: see outgoingEvents), `applied`
 * if its message was stored, `skipped` if the guard or the duplicate window
 * left it out.
 *
 * A broker refuses no row: the only dead letters are changes whose event is
 * larger than the server's max_payload (or the stream's max_msg_size).
 *
 * Reading (tests and verify): the rows are the table's events folded as a
 * consumer that upserts after images and deletes on deletes would keep them
 * (nats-fold.ts), read with an ordered consumer over `<prefix>.*.<table>.>`
 * (a table spec names no source, so every source's events of that table
 * name are read). Sound while the stream keeps every key's last event: true
 * for the stream the target creates (no limits); a stream with age, size or
 * count limits, or work-queue/interest retention, loses rows from this
 * view. The fold is kept per table in this process and brought up to date
 * by reading only the messages after it, so a table must fit in memory;
 * readRowsByKeys and scanRows pick from it. (Reading the last message of
 * each key's subject instead needs the source id, which a spec lacks, and
 * a wildcard lookup costs the server a pass over every subject of the
 * stream.)
 *
 * ensureTable creates the stream if needed and records the table's shape
 * in memory (as the HTTP target): a key change is refused, steps need no
 * action (events carry whatever columns each change has; rows keep the
 * names they were written with, contract `rowsFollowSteps: false`).
 */
export class NatsTarget implements Target {
  readonly kind = 'nats';
  private readonly options: NatsTargetOptions;
  private readonly server: NatsServer;
  private connection: Promise<Connected> | null = null;
  private streamReady: Promise<void> | null = null;
  private readonly tables = new Map<string, ExistingTable>();
  private readonly checkpoints = new ProcessCheckpoints();
  private readonly versions = new SubjectVersions(REMEMBERED_SUBJECTS);
  private readonly folds = new Map<string, TableFold>();
  /** One fold of a table at a time: two readers folding into one TableFold at once would mix their messages. */
  private readonly folding = new Map<string, Promise<unknown>>();

  constructor(connection: TargetConnection) {
    this.options = natsTargetOptions(connection.options);
    this.server = checkNatsUrl(connection.url);
  }

  /**
   * Ensures the stream (once per process) and records the table's shape:
   * its steps carried out on the recorded columns, so a key change is
   * refused as on the SQL targets. Nothing else to do: the events of the
   * changes that follow carry the new columns.
   */
  async ensureTable(table: TargetTableSpec): Promise<void> {
    const spec = validateTableSpec(table);
    evolvedTable(this.tables.get(spec.name) ?? null, spec); // a key change is refused before the broker is asked
    await this.stream();
    // Again after the await: a call running beside this one may have recorded a shape meanwhile.
    this.tables.set(spec.name, evolvedTable(this.tables.get(spec.name) ?? null, spec));
  }

  /** What ensureTable would refuse: a key change, and a stream that is missing (createStream false) or does not take the prefix's subjects. */
  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    const { jsm } = await this.connected();
    return [...tableProblems(spec, this.tables.get(spec.name) ?? null, false), ...this.streamProblems(await this.streamInfo(jsm))];
  }

  async apply(batch: ApplyBatch, hooks: ApplyHooks): Promise<ApplyResult> {
    const { changes, invalid } = sendableChanges(this.kind, batch, hooks);
    const rejected: RejectedChange[] = [...invalid];
    const result: ApplyResult = { applied: 0, skipped: 0, rejected };
    let superseded: number[] = [];
    if (changes.length > 0) {
      checkRecordedShape(this.kind, this.tables.get(batch.table.name), batch.table);
      const { nc } = await this.ready();
      const { messages, refused } = outgoingEvents(batch, changes, this.options, nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD);
      rejected.push(...refused);
      const outcomes = await this.publishAll(messages, batch.reapply === true);
      rejected.push(...refusedByServer(messages, outcomes));
      superseded = count(result, batch.table, changes, messages, outcomes, new Set(rejected.map((r) => r.change)));
    }
    // Nothing can be undone at a broker: the rejected changes are recorded after the others were stored.
    if (rejected.length > 0) await hooks.recordRejected(rejected);
    this.checkpoints.save(batch.routeId, batch.watermark);
    if (batch.reapply) result.superseded = superseded;
    return result;
  }

  /**
   * Publishes the messages, each key's in batch order one after the other
   * (each waits for the previous one's ack: its stream sequence is the
   * next one's expectation), different keys side by side, at most
   * maxInFlight awaiting acks. After a failure nothing more is started; the
   * publishes under way are awaited, then the first failure is thrown.
   */
  private async publishAll(messages: OutgoingEvent[], reapply: boolean): Promise<Map<OutgoingEvent, Outcome>> {
    const { js } = await this.connected();
    const slots = new Slots(this.options.maxInFlight);
    const outcomes = new Map<OutgoingEvent, Outcome>();
    const tails = new Map<string, Promise<void>>();
    let failure: { error: unknown } | null = null;
    const run = async (message: OutgoingEvent): Promise<void> => {
      if (failure) return;
      await slots.acquire();
      try {
        if (!failure) outcomes.set(message, await this.publishGuarded(js, message, reapply));
      } catch (error) {
        failure ??= { error };
      } finally {
        slots.release();
      }
    };
    for (const message of messages) {
      const task = (tails.get(message.subject) ?? Promise.resolve()).then(() => run(message));
      tails.set(message.subject, task);
    }
    await Promise.all(tails.values());
    if (failure) throw (failure as { error: unknown }).error;
    return outcomes;
  }

  /** One message through the guard (nats-guard.ts): published, or found stale, with the subject's last stream sequence expected. */
  private async publishGuarded(js: JetStreamClient, message: OutgoingEvent, reapply: boolean): Promise<Outcome> {
    const { subject, event } = message;
    for (let attempt = 0; attempt < MAX_GUARD_ATTEMPTS; attempt += 1) {
      // A subject this process does not know is read first, unless an insert's (usually a new key: expected
      // empty, a wrong guess costing one refused publish). A retried dead letter always reads first: publishing
      // at an equal seq needs the stored message's sequence.
      let last = this.versions.get(subject);
      if (!last && (reapply || event.op !== 'insert')) last = await this.readVersion(subject);
      if (last && !shouldPublish(last, event.seq, reapply)) return { kind: 'stale' };
      try {
        const ack = await js.publish(subject, message.payload, {
          msgID: messageId(event.id, last, event.seq),
          headers: headersOf(message),
          expect: { streamName: this.options.stream, lastSubjectSequence: (last ?? EMPTY_SUBJECT).streamSeq },
          timeout: this.options.timeoutMs,
        });
        if (ack.duplicate) {
          // Stored before (an earlier attempt whose ack was lost): the subject may hold more since.
          this.versions.forget(subject);
          return { kind: 'duplicate' };
        }
        this.versions.set(subject, { streamSeq: ack.seq, seq: event.seq });
        return { kind: 'published' };
      } catch (error) {
        if (apiCode(error) === API.wrongLastSequence) {
          this.versions.set(subject, await this.readVersion(subject));
          continue;
        }
        this.versions.forget(subject);
        if (apiCode(error) === API.messageTooLarge) return { kind: 'rejected', reason: `the stream refused the change event: ${this.scrubbed(error)}`, code: String(API.messageTooLarge) };
        throw this.publishFailure(subject, error);
      }
    }
    throw new TransientTargetError(`nats target: subject ${subject} kept changing under ${MAX_GUARD_ATTEMPTS} publishes (another writer of the key); the batch is retried`, null);
  }

  /** The subject's last message: its stream sequence and event seq. */
  private async readVersion(subject: string): Promise<SubjectVersion> {
    const { jsm } = await this.connected();
    try {
      const stored = await jsm.streams.getMessage(this.options.stream, { last_by_subj: subject });
      return stored ? { streamSeq: stored.seq, seq: eventSeqOf(stored.data) } : EMPTY_SUBJECT;
    } catch (error) {
      throw this.failure(`reading the last message of ${subject}`, error);
    }
  }

  private publishFailure(subject: string, error: unknown): Error {
    const code = apiCode(error);
    if (code === API.expectedStreamMismatch) {
      this.streamReady = null;
      return new TargetConfigError(`nats target: subject ${subject} is taken by another stream than ${this.options.stream} at ${this.server.shown}`);
    }
    if (error instanceof Error && (error.name === 'JetStreamNotEnabled' || error.name === 'NoRespondersError')) {
      // No stream takes the subject (the stream was deleted, say): ensure it again before the retry.
      this.streamReady = null;
      return new TransientTargetError(`nats target: no JetStream stream at ${this.server.shown} took subject ${subject} (is JetStream enabled, does stream ${this.options.stream} still exist?)`, 'no responders');
    }
    return this.failure(`publishing to ${subject}`, error);
  }

  /**
   * What this process had acknowledged: not durable (see the class
   * comment). Asks for the connection first, so an unreachable broker says
   * so here as on every other target, not with a remembered checkpoint.
   */
  async readCheckpoint(routeId: string): Promise<TargetCheckpoint | null> {
    await this.connected();
    return this.checkpoints.read(routeId);
  }

  /** The table's rows as its events fold (see the class comment), in key order. */
  async readRows(table: TargetTableSpec): Promise<Row[]> {
    const spec = this.readableSpec(table);
    return copies((await this.foldOf(spec.name)).rowsFor(spec));
  }

  /** The rows of `keys`, picked from the table's fold (brought up to date first). */
  async readRowsByKeys(table: TargetTableSpec, keys: Row[]): Promise<Row[]> {
    const spec = this.readableSpec(table);
    if (keys.length === 0) return [];
    const byKey = (await this.foldOf(spec.name)).rowsByKey(spec);
    const found = new Map<string, Row>();
    for (const key of keys) {
      const identity = keyIdentity(spec, key);
      const row = byKey.get(identity);
      if (row) found.set(identity, row);
    }
    return copies([...found.values()]);
  }

  /**
   * One page in key order, after the key the cursor names (key-cursor.ts):
   * keyset pagination over the fold, brought up to date for each page, so
   * rows that come and go meanwhile shift no other row between pages.
   */
  async scanRows(table: TargetTableSpec, cursor: string | null, limit: number): Promise<{ rows: Row[]; next: string | null }> {
    const spec = this.readableSpec(table);
    checkScanLimit(limit);
    const after = cursor === null ? null : decodeKeyCursor(spec, cursor);
    const rows = (await this.foldOf(spec.name)).rowsFor(spec);
    const from = after === null ? 0 : firstAfter(rows, after, compareByKey(spec.key));
    const page = rows.slice(from, from + limit);
    return { rows: copies(page), next: from + limit < rows.length ? encodeKeyCursor(spec, page[page.length - 1]) : null };
  }

  /** The spec, if the recorded table (when this process has one) has all of its columns: a dropped or renamed column cannot be read. */
  private readableSpec(table: TargetTableSpec): TargetTableSpec {
    const spec = validateTableSpec(table);
    const existing = this.tables.get(spec.name);
    const unknown = existing ? spec.columns.filter((c) => !existing.columns.some((e) => e.name === c.name)).map((c) => c.name) : [];
    if (unknown.length > 0) throw new TargetConfigError(`nats target: table ${spec.name} has no column ${unknown.join(', ')}`);
    return spec;
  }

  /** The table's fold, brought up to date: built afresh if the stream lost messages since (purged, or deleted and created again). */
  private foldOf(tableName: string): Promise<TableFold> {
    const previous = this.folding.get(tableName) ?? Promise.resolve();
    const run = previous.then(() => this.refreshFold(tableName));
    this.folding.set(tableName, run.catch(() => undefined));
    return run;
  }

  private async refreshFold(tableName: string): Promise<TableFold> {
    const { js, jsm } = await this.connected();
    const state = await this.streamState(jsm);
    if (state === null) {
      this.folds.delete(tableName);
      return new TableFold(0);
    }
    let fold = this.folds.get(tableName);
    if (!fold || fold.firstSeq !== state.first_seq || fold.seq > state.last_seq) fold = new TableFold(state.first_seq);
    // Nothing stored since the last look: nothing to read.
    if (fold.streamSeq === state.last_seq) return fold;
    this.folds.delete(tableName); // a fold that fails halfway is not kept
    const filter = tableFilter(this.options.subjectPrefix, tableName);
    const last = await this.lastSeqOf(jsm, filter);
    if (last > fold.seq) await this.consumeInto(js, filter, fold, last);
    fold.streamSeq = state.last_seq;
    this.folds.set(tableName, fold);
    return fold;
  }

  /** The stream sequence of the last message under `filter` (0: none). */
  private async lastSeqOf(jsm: JetStreamManager, filter: string): Promise<number> {
    try {
      return (await jsm.streams.getMessage(this.options.stream, { last_by_subj: filter }))?.seq ?? 0;
    } catch (error) {
      throw this.failure(`reading the last message of ${filter}`, error);
    }
  }

  /**
   * Folds the messages after `fold.seq` up to `last` (the last one there was
   * when the read began) with an ordered consumer, then deletes it. (Not
   * until its pending count reaches 0: nats-server 2.9 may count a filtered
   * consumer's pending one too many.) A consumer that goes timeoutMs without
   * a message fails the read as transient.
   */
  private async consumeInto(js: JetStreamClient, filter: string, fold: TableFold, last: number): Promise<void> {
    let consumer: Consumer | null = null;
    try {
      consumer = await js.consumers.get(this.options.stream, {
        filter_subjects: filter,
        ...(fold.seq > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fold.seq + 1 } : { deliver_policy: DeliverPolicy.All }),
      });
      const messages = await consumer.consume({ max_messages: FOLD_BATCH });
      let idle = false;
      const watch = () => setTimeout(() => ((idle = true), messages.stop()), this.options.timeoutMs);
      let timer = watch();
      try {
        for await (const message of messages) {
          clearTimeout(timer);
          timer = watch();
          fold.add(message.seq, parseEvent(message.data, `message ${message.seq} on ${message.subject}`));
          if (message.seq >= last) break;
        }
      } finally {
        clearTimeout(timer);
        messages.stop();
      }
      if (idle || fold.seq < last) {
        throw new TransientTargetError(`nats target: reading ${filter} from stream ${this.options.stream} got no message for ${this.options.timeoutMs} ms (up to sequence ${last})`, 'ETIMEDOUT');
      }
    } catch (error) {
      throw this.failure(`reading ${filter}`, error);
    } finally {
      // Ordered consumers outlive their reader by minutes otherwise: one per read would pile up.
      await (consumer as { delete?: () => Promise<unknown> } | null)?.delete?.().catch(() => undefined);
    }
  }

  /** The stream's first and last sequence, or null if it does not exist. */
  private async streamState(jsm: JetStreamManager): Promise<{ first_seq: number; last_seq: number } | null> {
    const info = await this.streamInfo(jsm);
    return info && { first_seq: info.state.first_seq, last_seq: info.state.last_seq };
  }

  /** A round trip to the server. */
  async ping(): Promise<void> {
    const { nc } = await this.connected();
    try {
      await withTimeout(nc.flush(), this.options.timeoutMs);
    } catch (error) {
      throw this.failure('ping', error);
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    this.streamReady = null;
    this.tables.clear();
    this.versions.clear();
    this.folds.clear();
    const connected = await connection?.catch(() => null);
    await connected?.nc.close().catch(() => undefined);
  }

  /** The connection, opened on first use; the client reconnects by itself, and a closed connection is opened again next time. */
  private connected(): Promise<Connected> {
    if (!this.connection) {
      const opening = this.open();
      this.connection = opening;
      // A failed or closed connection is forgotten, so the next call connects again.
      const forget = () => {
        if (this.connection === opening) this.connection = null;
      };
      opening.then(({ nc }) => nc.closed().then(forget), forget);
    }
    return this.connection;
  }

  private async open(): Promise<Connected> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: this.server.server,
        user: this.server.user,
        pass: this.server.pass,
        ...(this.server.tls ? { tls: {} } : {}),
        name: 'tributary',
        timeout: this.options.connectTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        // Each request would build an Error up front for its async stack: a quarter of the worker's CPU at
        // thousands of publishes a second (measured), for a trace our errors never show.
        noAsyncTraces: true,
      });
    } catch (error) {
      throw this.failure('connecting', error);
    }
    const connected: Connected = {
      nc,
      js: jetstream(nc, { timeout: this.options.timeoutMs }),
      jsm: await jetstreamManager(nc, { timeout: this.options.timeoutMs, checkAPI: false }),
    };
    return connected;
  }

  /** The connection, with the stream ensured (once per process, again after a publish found it gone). */
  private async ready(): Promise<Connected> {
    await this.stream();
    return this.connected();
  }

  private stream(): Promise<void> {
    if (!this.streamReady) {
      const ensuring = this.ensureStream();
      this.streamReady = ensuring;
      ensuring.catch(() => {
        if (this.streamReady === ensuring) this.streamReady = null;
      });
    }
    return this.streamReady;
  }

  /** Creates the stream if missing (createStream), or checks that the one there takes the prefix's subjects. */
  private async ensureStream(): Promise<void> {
    const { jsm } = await this.connected();
    const info = await this.streamInfo(jsm);
    const problems = this.streamProblems(info);
    if (problems.length > 0) throw new TargetConfigError(`nats target: ${problems.join('; ')}`);
    if (info) return;
    const { stream, subjectPrefix, duplicateWindowSeconds } = this.options;
    try {
      await jsm.streams.add({
        name: stream,
        subjects: [`${subjectPrefix}.>`],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        max_age: 0,
        max_bytes: -1,
        max_msgs: -1,
        max_msgs_per_subject: -1,
        duplicate_window: duplicateWindowSeconds * 1e9,
      });
    } catch (error) {
      const code = apiCode(error);
      if (code === API.subjectsOverlap) {
        throw new TargetConfigError(`nats target: another stream at ${this.server.shown} already takes subjects ${subjectPrefix}.> (choose another subjectPrefix, or name that stream in option stream)`);
      }
      // Created meanwhile by another process (with other settings): fine if it takes our subjects.
      if (code !== API.streamNameInUse) throw this.failure(`creating stream ${stream}`, error);
      const again = this.streamProblems(await this.streamInfo(jsm));
      if (again.length > 0) throw new TargetConfigError(`nats target: ${again.join('; ')}`);
    }
  }

  /** Why the stream cannot be used as it is: missing with createStream false, or not taking the prefix's subjects. */
  private streamProblems(info: StreamInfo | null): string[] {
    const { stream, subjectPrefix, createStream } = this.options;
    if (info === null) return createStream ? [] : [`stream ${stream} does not exist at ${this.server.shown} (option createStream is false)`];
    const subjects = info.config.subjects ?? [];
    if (streamCovers(subjects, subjectPrefix)) return [];
    return [`stream ${stream} takes subjects ${subjects.join(', ') || '(none)'}, not every subject under ${subjectPrefix}.> (add ${subjectPrefix}.> to its subjects, or choose another stream or subjectPrefix)`];
  }

  private async streamInfo(jsm: JetStreamManager): Promise<StreamInfo | null> {
    try {
      return await jsm.streams.info(this.options.stream);
    } catch (error) {
      if (apiCode(error) === API.streamNotFound) return null;
      throw this.failure(`reading stream ${this.options.stream}`, error);
    }
  }

  /** A failure of the client or the server as a TransientTargetError (typed errors pass through), never with the password. */
  private failure(action: string, error: unknown): Error {
    if (error instanceof TargetConfigError || error instanceof TransientTargetError) return error;
    const code = apiCode(error);
    const name = error instanceof Error ? error.name : 'Error';
    const hint = name === 'AuthorizationError' ? ' (check the user and password)' : '';
    return new TransientTargetError(`nats target: ${action} at ${this.server.shown} failed: ${this.scrubbed(error)}${hint}`, code === null ? name : String(code));
  }

  private scrubbed(error: unknown): string {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return scrub(text, this.server.secrets);
  }
}

/** At most `size` holders at once, served in the order they asked. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

function headersOf(message: OutgoingEvent) {
  const h = headers();
  for (const [name, value] of eventHeaders(message.event)) h.set(name, value);
  return h;
}

function apiCode(error: unknown): number | null {
  return error instanceof JetStreamApiError ? error.code : null;
}

/** The changes the server refused (the stream's max_msg_size): each once, with the server's words. */
function refusedByServer(messages: readonly OutgoingEvent[], outcomes: ReadonlyMap<OutgoingEvent, Outcome>): RejectedChange[] {
  const refused = new Map<RowChange, RejectedChange>();
  for (const message of messages) {
    const outcome = outcomes.get(message);
    if (outcome?.kind === 'rejected' && !refused.has(message.change)) refused.set(message.change, { change: message.change, reason: outcome.reason, code: outcome.code });
  }
  return [...refused.values()];
}

/**
 * Fills `result`'s counts as every target counts: row writes after
 * collapsing each key's changes into its last (apply-plan.ts; a key move is
 * two), applied if the write's message was stored, skipped otherwise.
 * Returns the seqs of the changes none of whose writes was stored (for a
 * reapply: superseded), rejected ones aside.
 */
function count(
  result: ApplyResult,
  table: TargetTableSpec,
  changes: readonly RowChange[],
  messages: readonly OutgoingEvent[],
  outcomes: ReadonlyMap<OutgoingEvent, Outcome>,
  rejected: ReadonlySet<RowChange>,
): number[] {
  const kept = changes.filter((change) => !rejected.has(change));
  const byChange = new Map<RowChange, OutgoingEvent[]>();
  for (const message of messages) byChange.set(message.change, [...(byChange.get(message.change) ?? []), message]);
  const written = new Set<RowChange>();
  for (const write of planBatch(table, kept).writes) {
    const message = messageOfWrite(write, byChange.get(write.change) ?? []);
    if (message && outcomes.get(message)?.kind === 'published') {
      result.applied += 1;
      written.add(write.change);
    } else result.skipped += 1;
  }
  return kept.filter((change) => !written.has(change)).map((change) => change.seq).sort((a, b) => a - b);
}

/** The message that carries a planned write: a move's delete is its `left` message. */
function messageOfWrite(write: PlannedWrite, messages: readonly OutgoingEvent[]): OutgoingEvent | undefined {
  const left = write.kind === 'delete' && write.change.op !== 'delete';
  return messages.find((m) => m.role === (left ? 'left' : 'change')) ?? messages.find((m) => m.role === 'change');
}

/** The index of the first row after `after`; rows are sorted by `order`. */
function firstAfter(rows: readonly Row[], after: Row, order: (a: Row, b: Row) => number): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (order(rows[middle], after) > 0) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Rows the caller may change without touching the fold's cache. */
function copies(rows: readonly Row[]): Row[] {
  return rows.map((row) => ({ ...row }));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const natsTargetFactory: TargetFactory = {
  kind: 'nats',
  detectsConflicts: false,
  versionsPerSource: false,
  create: (connection) => new NatsTarget(connection),
};

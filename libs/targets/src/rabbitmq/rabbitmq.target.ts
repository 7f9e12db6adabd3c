import type { Channel } from 'amqplib';
import { Row, RowChange, TargetTableSpec } from '@tributary/model';
import { planBatch, PlannedWrite } from '../apply-plan';
import { TargetConfigError, TargetNotReadableError, TransientTargetError } from '../errors';
import { evolvedTable, ExistingTable, tableProblems } from '../sql/table-evolution';
import { validateTableSpec } from '../table-spec';
import { ApplyBatch, ApplyHooks, ApplyResult, RejectedChange, Target, TargetCheckpoint, TargetConnection, TargetFactory } from '../target';
import { AMQP_ACCESS_REFUSED, AMQP_NOT_FOUND, AMQP_PRECONDITION_FAILED, amqpCode, BrokerLink, errorText } from './rabbitmq-broker';
import { OutgoingMessage, outgoingMessages } from './rabbitmq-messages';
import { checkBrokerUrl, RabbitMqTargetOptions, rabbitMqTargetOptions } from './rabbitmq-options';
import { checkRecordedShape, ProcessCheckpoints, sendableChanges } from '../unstored-tables';

/**
 * RabbitMQ target (issue #18): every row change becomes a versioned change
 * event (events/change-event.ts) published over AMQP 0-9-1.
 *
 * Ordered, replayable delivery. Every event goes to a durable topic exchange
 * (option `exchange`) with routing key `<routingPrefix>.<source>.<table>.
 * <bucket>.<key>` (eventSubject). A stream queue (option `streamQueue`, null
 * to declare none) is bound to it with `<routingPrefix>.#`: an append-only
 * log that consumers read from any offset (`x-stream-offset`: first, last,
 * next, an offset or a timestamp) without removing anything, so a new
 * consumer can replay it from the start. One channel publishes every event
 * in order, and RabbitMQ keeps a channel's publish order within a queue, so
 * each key's events reach every queue in seq order. A consumer wanting a
 * subset binds a queue of its own: `<prefix>.<source>.<table>.#` for a
 * table, `<prefix>.<source>.<table>.3.#` for one bucket of its keys. An
 * update that moves its row to another key is a delete event of the old key
 * and then the update on the new one (changeEvents), so a subscriber of the
 * old key's bucket sees the row leave.
 *
 * Effectively once. Publisher confirms: apply returns (and the checkpoint
 * moves) only after the broker confirmed every message of the batch, in
 * windows of `maxInFlight`. A message no queue takes (published mandatory,
 * returned as unroutable), a nack, a lost channel or connection, or confirms
 * slower than `timeoutMs` fail the batch with TransientTargetError: the
 * worker retries it, in order. AMQP 0-9-1 has no broker-side de-duplication
 * (a stream's needs the stream protocol), so a retried batch is published
 * again: a consumer may see twice the events of a batch whose confirms were
 * not all received before a failure (worker crash, connection loss, broker
 * restart), each such event again later, in the same per-key order. Every
 * message carries `messageId` = the event's id and the header
 * `tributary-event-version`; the consumer rule (apply an event only if its
 * seq is higher than the key's last applied seq) drops the copies, and any
 * replay of older events. Like a webhook, the broker holds no checkpoint:
 * the worker's progress in the control schema is the durable one, and
 * readCheckpoint reports what this process published.
 *
 * Counts: a log cannot know what its consumers hold, so a batch's counts are
 * its own: `applied` its row writes after planning (a key move is two),
 * `skipped` 0, and with `reapply` `superseded` the changes a later change of
 * their key in the same batch overrides. Every change is published all the
 * same (consumers may want each one).
 *
 * Not readable: a stream queue is read by consuming it from an offset, and
 * AMQP 0-9-1 cannot tell a consumer where the stream ends, so the target
 * cannot read back which rows it holds; readRows, readRowsByKeys and
 * scanRows throw TargetNotReadableError and a route to it cannot be
 * verified. Consumers are the way to read it.
 *
 * Refusals: an event larger than the broker takes (`maxMessageBytes`, or
 * the broker's max_message_size once it refused one) becomes a
 * RejectedChange (a dead letter), never a silent drop. An exchange or queue
 * that exists with other arguments (PRECONDITION_FAILED), or that the user
 * may not declare (ACCESS_REFUSED), is a TargetConfigError. ensureTable
 * declares once per process and records the table's shape in memory (a key
 * change is refused as on the SQL targets; steps need no action: events
 * carry the columns as they are).
 */
export class RabbitMqTarget implements Target {
  readonly kind = 'rabbitmq';
  private readonly options: RabbitMqTargetOptions;
  private readonly link: BrokerLink;
  private readonly tables = new Map<string, ExistingTable>();
  private readonly checkpoints = new ProcessCheckpoints();
  /** The exchange, queue and binding, declared once per process (again after a failure or an unroutable message). */
  private declared: Promise<void> | null = null;

  constructor(connection: TargetConnection) {
    this.options = rabbitMqTargetOptions(connection.options);
    this.link = new BrokerLink(checkBrokerUrl(connection.url), this.options);
  }

  /** Declares the exchange, the stream queue and its binding (once per process), and records the table's shape. */
  async ensureTable(table: TargetTableSpec): Promise<void> {
    const spec = validateTableSpec(table);
    // Refuse a key change before touching the broker.
    evolvedTable(this.tables.get(spec.name) ?? null, spec);
    await this.declare();
    this.tables.set(spec.name, evolvedTable(this.tables.get(spec.name) ?? null, spec));
  }

  /** What ensureTable would refuse: a key change, or an exchange or stream queue that exists with other arguments. */
  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    return [...tableProblems(spec, this.tables.get(spec.name) ?? null, false), ...(await this.declarationProblems())];
  }

  async apply(batch: ApplyBatch, hooks: ApplyHooks): Promise<ApplyResult> {
    const sendable = sendableChanges(this.kind, batch, hooks);
    const changes = inSeqOrder(sendable.changes);
    const rejected: RejectedChange[] = [...sendable.invalid];
    let writes = sendable.writes;
    if (changes.length > 0) {
      checkRecordedShape(this.kind, this.tables.get(batch.table.name), batch.table);
      const routing = { routingPrefix: this.options.routingPrefix, buckets: this.options.buckets };
      const { messages, refused } = outgoingMessages(batch, changes, routing, this.link.maxMessageBytes(this.options.maxMessageBytes));
      if (messages.length > 0) {
        await this.declare();
        await this.publish(messages);
      }
      if (refused.length > 0) {
        rejected.push(...refused);
        const gone = new Set(refused.map((r) => r.change));
        writes = planBatch(batch.table, changes.filter((c) => !gone.has(c))).writes;
      }
    }
    if (rejected.length > 0) await hooks.recordRejected(rejected);
    this.checkpoints.save(batch.routeId, batch.watermark);
    const result: ApplyResult = { applied: writes.length, skipped: 0, rejected };
    if (batch.reapply) result.superseded = supersededIn(changes, rejected, writes);
    return result;
  }

  /** What this process published: not durable (see the class comment). Fails like every other call while the broker is unreachable. */
  async readCheckpoint(routeId: string): Promise<TargetCheckpoint | null> {
    await this.ping();
    return this.checkpoints.read(routeId);
  }

  /** @throws TargetNotReadableError always (see the class comment). */
  async readRows(_table: TargetTableSpec): Promise<Row[]> {
    throw notReadable();
  }

  /** @throws TargetNotReadableError always. */
  async readRowsByKeys(_table: TargetTableSpec, _keys: Row[]): Promise<Row[]> {
    throw notReadable();
  }

  /** @throws TargetNotReadableError always. */
  async scanRows(_table: TargetTableSpec, _cursor: string | null, _limit: number): Promise<{ rows: Row[]; next: string | null }> {
    throw notReadable();
  }

  /**
   * The columns ensureTable recorded for a table in this process (the shape
   * its events have now), or null: for tools that read the stream like a
   * consumer and want to refuse a column the table no longer has.
   */
  recordedColumns(table: string): string[] | null {
    return this.tables.get(table)?.columns.map((c) => c.name) ?? null;
  }

  /** Opens (and closes) a channel: a round trip to the broker. */
  async ping(): Promise<void> {
    await this.link.withChannel('a ping', async () => undefined);
  }

  async close(): Promise<void> {
    this.declared = null;
    await this.link.close();
  }

  private declare(): Promise<void> {
    this.declared ??= this.link.withChannel('declaring the exchange and stream queue', (channel) => this.declareOn(channel)).catch((error: unknown) => {
      this.declared = null;
      throw this.declarationError(error);
    });
    return this.declared;
  }

  private async declareOn(channel: Channel): Promise<void> {
    const { exchange, streamQueue, routingPrefix } = this.options;
    await channel.assertExchange(exchange, 'topic', { durable: true });
    if (streamQueue === null) return;
    await channel.assertQueue(streamQueue, { durable: true, arguments: this.streamArguments() });
    await channel.bindQueue(streamQueue, exchange, `${routingPrefix}.#`);
  }

  private streamArguments(): Record<string, string> {
    return { 'x-queue-type': 'stream', ...(this.options.streamMaxAge ? { 'x-max-age': this.options.streamMaxAge } : {}) };
  }

  /**
   * Reads only: an exchange or queue that is missing would be created; one
   * that exists is declared again with the target's arguments, which changes
   * nothing when they match and is refused (406) when they do not.
   */
  private async declarationProblems(): Promise<string[]> {
    const { exchange, streamQueue } = this.options;
    const problems: string[] = [];
    if (await this.exists((channel) => channel.checkExchange(exchange))) {
      problems.push(...(await this.refusal((channel) => channel.assertExchange(exchange, 'topic', { durable: true }))));
    }
    if (streamQueue !== null && (await this.exists((channel) => channel.checkQueue(streamQueue)))) {
      problems.push(...(await this.refusal((channel) => channel.assertQueue(streamQueue, { durable: true, arguments: this.streamArguments() }))));
    }
    return problems;
  }

  /** Why the broker refuses a declaration, as a message (none if it takes it); a failure to ask is thrown. */
  private async refusal(declare: (channel: Channel) => Promise<unknown>): Promise<string[]> {
    try {
      await this.link.withChannel('checking a declaration', declare);
      return [];
    } catch (error) {
      const refused = this.declarationError(error);
      if (refused instanceof TargetConfigError) return [refused.message];
      throw refused;
    }
  }

  /** Whether a passive declaration finds the exchange or queue (404: it does not exist yet). */
  private async exists(check: (channel: Channel) => Promise<unknown>): Promise<boolean> {
    try {
      await this.link.withChannel('checking a declaration', check);
      return true;
    } catch (error) {
      if (amqpCode(error) === AMQP_NOT_FOUND) return false;
      throw this.link.transient('checking a declaration', error);
    }
  }

  /** A refused declaration is configuration (retrying cannot help); anything else is transient. */
  private declarationError(error: unknown): Error {
    if (error instanceof TransientTargetError || error instanceof TargetConfigError) return error;
    const code = amqpCode(error);
    const said = this.link.scrub(errorText(error));
    const { exchange, streamQueue } = this.options;
    if (code === AMQP_PRECONDITION_FAILED) {
      const queue = /for queue/.test(said);
      const maxAge = this.options.streamMaxAge;
      const what = queue
        ? `queue ${streamQueue} exists, but not as a durable stream queue${maxAge ? ` with x-max-age ${maxAge}` : ''}`
        : `exchange ${exchange} exists, but not as a durable topic exchange`;
      return new TargetConfigError(`rabbitmq target: ${what} (the broker says: ${said}); delete it, or choose another name (option ${queue ? 'streamQueue' : 'exchange'})`);
    }
    if (code === AMQP_ACCESS_REFUSED) return new TargetConfigError(`rabbitmq target: the user may not declare ${exchange}${streamQueue ? ` or ${streamQueue}` : ''} (the broker says: ${said})`);
    return this.link.transient('declaring the exchange and stream queue', error);
  }

  private async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    try {
      await this.link.publish(this.options.exchange, messages, this.options.maxInFlight);
    } catch (error) {
      // The queue may be gone (deleted by hand): declare again before the retry.
      this.declared = null;
      throw error;
    }
  }


}

/** Stable: changes sharing a seq (an initial copy's chunk) keep their order. */
function inSeqOrder(changes: RowChange[]): RowChange[] {
  return [...changes].sort((a, b) => a.seq - b.seq);
}

/** Seqs of published changes whose row a later change of the same batch writes instead. */
function supersededIn(changes: readonly RowChange[], rejected: readonly RejectedChange[], writes: readonly PlannedWrite[]): number[] {
  const written = new Set(writes.map((w) => w.change));
  const refused = new Set(rejected.map((r) => r.change));
  return changes.filter((c) => !written.has(c) && !refused.has(c)).map((c) => c.seq);
}

function notReadable(): TargetNotReadableError {
  return new TargetNotReadableError(
    'rabbitmq target: a stream queue is read by consuming it from an offset, and AMQP 0-9-1 cannot tell a consumer where the stream ends, ' +
      'so the target cannot read back the rows it holds and a route to it cannot be verified; read it with a consumer',
  );
}

export const rabbitMqTargetFactory: TargetFactory = {
  kind: 'rabbitmq',
  detectsConflicts: false,
  versionsPerSource: false,
  create: (connection) => new RabbitMqTarget(connection),
};

import * as amqp from 'amqplib';
import { TransientTargetError } from '../errors';
import { OutgoingMessage } from './rabbitmq-messages';
import { BrokerUrl } from './rabbitmq-options';

/** AMQP reply codes the target tells apart. */
export const AMQP_ACCESS_REFUSED = 403;
export const AMQP_NOT_FOUND = 404;
export const AMQP_PRECONDITION_FAILED = 406;

export interface BrokerSettings {
  connectTimeoutMs: number;
  timeoutMs: number;
}

/** How a connection is opened: amqplib's connect (a stand-in in unit tests). */
export type Connect = (url: string, options: { timeout: number; clientProperties: Record<string, unknown> }) => Promise<amqp.ChannelModel>;

/**
 * One connection to the broker, opened on first use and again after it is
 * lost, with one confirm channel that publishes every event (one channel in
 * order keeps per-key order in each queue). Declarations and checks use a
 * channel of their own each, since the broker closes the channel of a
 * refused declaration. Errors never show the URL's password.
 */
export class BrokerLink {
  private model: amqp.ChannelModel | null = null;
  private opening: Promise<amqp.ChannelModel> | null = null;
  private publisher: Publisher | null = null;
  private publisherOpening: Promise<Publisher> | null = null;
  /** Why the broker blocks publishing (a resource alarm), while it does. */
  private blocked: string | null = null;
  /** The broker's max_message_size, once a refusal told it. */
  private brokerMaxBytes: number | null = null;
  /** Counts close() calls: a connection that opens after one is closed at once instead of kept. */
  private generation = 0;

  constructor(
    private readonly url: BrokerUrl,
    private readonly settings: BrokerSettings,
    private readonly connect: Connect = amqp.connect,
  ) {}

  /** The largest body the broker is known to take: the option, or less once the broker said so. */
  maxMessageBytes(configured: number): number {
    return this.brokerMaxBytes === null ? configured : Math.min(configured, this.brokerMaxBytes);
  }

  /** Runs `work` on a fresh channel, closed afterwards (a refused declaration closes it anyway). */
  async withChannel<T>(doing: string, work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
    const model = await this.connection();
    let channel: amqp.Channel;
    try {
      channel = await this.timed(model.createChannel(), doing);
    } catch (error) {
      this.dropIfSilent(error);
      throw this.transient(doing, error);
    }
    // The failing call's own rejection carries the error; without a listener the event would throw.
    channel.on('error', () => undefined);
    try {
      return await this.timed(work(channel), doing);
    } catch (error) {
      this.dropIfSilent(error);
      throw error;
    } finally {
      await settled(channel.close(), this.settings.timeoutMs);
    }
  }

  /**
   * Publishes messages on the confirm channel, `window` at a time, each
   * window awaited until the broker confirmed every message of it.
   *
   * @throws TransientTargetError on a nack, a message no queue took, a lost
   * channel or connection, or confirms slower than timeoutMs; the channel is
   * then dropped, so the retry starts on a fresh one.
   */
  async publish(exchange: string, messages: readonly OutgoingMessage[], window: number): Promise<void> {
    const publisher = await this.confirmChannel();
    try {
      for (let start = 0; start < messages.length; start += window) {
        await publisher.publishWindow(exchange, messages.slice(start, start + window), this.settings.timeoutMs);
      }
    } catch (error) {
      this.dropPublisher(publisher);
      this.dropIfSilent(error);
      const limit = refusedSizeLimit(publisher.failure);
      if (limit !== null) {
        this.brokerMaxBytes = limit;
        throw new TransientTargetError(
          `rabbitmq target: the broker refused a message larger than its max_message_size (${limit} bytes); the retried batch turns larger events into dead letters`,
          String(AMQP_PRECONDITION_FAILED),
        );
      }
      if (error instanceof TransientTargetError) throw new TransientTargetError(this.scrub(error.message), error.code);
      throw this.transient('publishing', publisher.failure ?? error);
    }
  }

  /** A TransientTargetError for a failed broker call, naming the broker without credentials. */
  transient(doing: string, error: unknown): TransientTargetError {
    if (error instanceof TransientTargetError) return error;
    const code = errorCode(error);
    const why = this.blocked ? ` (the broker blocks publishers: ${this.blocked})` : '';
    return new TransientTargetError(`rabbitmq target: ${doing} at ${this.url.shown} failed: ${this.scrub(errorText(error))}${why}`, code);
  }

  /** Text from the broker or the driver, with the URL's password taken out wherever it appears. */
  scrub(text: string): string {
    let result = text;
    for (const secret of this.url.secrets) result = result.split(secret).join('***');
    return result;
  }

  async close(): Promise<void> {
    this.generation += 1;
    const model = this.model;
    this.model = null;
    this.opening = null;
    this.publisher = null;
    this.publisherOpening = null;
    if (!model) return;
    // amqplib's close never settles when the socket dies before the broker's close-ok: the close event ends the wait too.
    const closed = new Promise<void>((resolve) => model.once('close', () => resolve()));
    await settled(Promise.race([model.close(), closed]), this.settings.timeoutMs);
  }

  /** The open connection, or a new one. */
  private async connection(): Promise<amqp.ChannelModel> {
    if (this.model) return this.model;
    this.opening ??= this.open().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async open(): Promise<amqp.ChannelModel> {
    const generation = this.generation;
    let model: amqp.ChannelModel;
    try {
      model = await this.connect(this.url.url, { timeout: this.settings.connectTimeoutMs, clientProperties: { connection_name: 'tributary target' } });
    } catch (error) {
      throw this.transient('connecting', error);
    }
    if (generation !== this.generation) {
      void settled(model.close(), this.settings.timeoutMs);
      throw new TransientTargetError('rabbitmq target: closed while connecting', null);
    }
    // A lost connection is noticed by the calls on it; the next call opens a new one.
    model.on('error', () => undefined);
    model.on('close', () => {
      if (this.model !== model) return;
      this.model = null;
      this.publisher = null;
    });
    model.on('blocked', (reason: string) => {
      this.blocked = reason;
    });
    model.on('unblocked', () => {
      this.blocked = null;
    });
    this.model = model;
    return model;
  }

  /** The open confirm channel, or a new one (one at a time, however many publish at once). */
  private async confirmChannel(): Promise<Publisher> {
    if (this.publisher && !this.publisher.closed) return this.publisher;
    this.publisherOpening ??= this.openPublisher().finally(() => {
      this.publisherOpening = null;
    });
    return this.publisherOpening;
  }

  private async openPublisher(): Promise<Publisher> {
    const model = await this.connection();
    try {
      this.publisher = new Publisher(await this.timed(model.createConfirmChannel(), 'opening a channel'));
      return this.publisher;
    } catch (error) {
      throw this.transient('opening a channel', error);
    }
  }

  /**
   * A broker that answers nothing within timeoutMs may sit behind a dead
   * socket the heartbeat has not noticed yet: the next call connects anew
   * rather than wait on it again.
   */
  private dropIfSilent(error: unknown): void {
    const model = this.model;
    if (!model || !(error instanceof TransientTargetError) || error.code !== 'ETIMEDOUT') return;
    this.model = null;
    this.publisher = null;
    void settled(model.close(), this.settings.timeoutMs);
  }

  private dropPublisher(publisher: Publisher): void {
    if (this.publisher === publisher) this.publisher = null;
    publisher.close();
  }

  /** `work`, or a timeout error after timeoutMs (the work itself is left to fail or finish on its own). */
  private timed<T>(work: Promise<T>, doing: string): Promise<T> {
    return withTimeout(work, this.settings.timeoutMs, () => new TransientTargetError(`rabbitmq target: ${doing} at ${this.url.shown} took more than ${this.settings.timeoutMs} ms`, 'ETIMEDOUT'));
  }
}

/**
 * A confirm channel and what it learns: the error the broker closed it with,
 * and messages it returned as unroutable (basic.return comes before the
 * confirm of the same message, so a confirm finds its return here).
 */
class Publisher {
  failure: Error | null = null;
  /** Closed by us, the broker, or with the connection: the link opens another. */
  closed = false;
  private readonly returned = new Map<string, number>();

  constructor(private readonly channel: amqp.ConfirmChannel) {
    channel.on('error', (error: Error) => {
      this.failure ??= error;
    });
    channel.on('close', () => {
      this.closed = true;
    });
    channel.on('return', (message: amqp.Message) => {
      const id = String(message.properties.messageId);
      this.returned.set(id, (this.returned.get(id) ?? 0) + 1);
    });
  }

  /** Publishes the messages in order and resolves once the broker confirmed them all. */
  async publishWindow(exchange: string, messages: readonly OutgoingMessage[], timeoutMs: number): Promise<void> {
    const window = new ConfirmWindow(messages.length);
    for (const message of messages) {
      // After a failure the window is lost anyway: publish no more of it.
      if (window.failed) break;
      if (this.closed) throw new TransientTargetError(`rabbitmq target: the channel closed while publishing (${this.failure?.message ?? 'connection lost'})`, errorCode(this.failure));
      const ready = this.channel.publish(exchange, message.routingKey, message.body, message.properties, (error: unknown) => window.settle(this.outcome(message, error)));
      // The socket's buffer is full: wait for it to drain rather than buffer a whole batch in memory.
      if (!ready) await this.drained(timeoutMs);
    }
    await window.done(timeoutMs);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.close().catch(() => undefined);
  }

  /** What a confirm callback says about its message: null when the broker has it in a queue. */
  private outcome(message: OutgoingMessage, error: unknown): TransientTargetError | null {
    const id = message.properties.messageId;
    const returns = this.returned.get(id) ?? 0;
    if (returns > 0) {
      if (returns === 1) this.returned.delete(id);
      else this.returned.set(id, returns - 1);
      if (!error) {
        return new TransientTargetError(
          `rabbitmq target: no queue is bound for routing key ${message.routingKey} (the message was returned as unroutable); declare the streamQueue or bind a queue for it`,
          '312',
        );
      }
    }
    if (!error) return null;
    if (error instanceof Error && error.message === 'message nacked') {
      return new TransientTargetError(`rabbitmq target: the broker refused (nack) the message for ${message.routingKey}`, 'nack');
    }
    return new TransientTargetError(`rabbitmq target: the channel closed before the broker confirmed every message (${this.failure?.message ?? 'connection lost'})`, errorCode(this.failure));
  }

  private drained(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.channel.off('drain', onDrain);
        this.channel.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(new TransientTargetError('rabbitmq target: the channel closed while publishing', errorCode(this.failure)));
      const timer = setTimeout(() => done(new TransientTargetError(`rabbitmq target: the broker took no data for ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);
      this.channel.once('drain', onDrain);
      this.channel.once('close', onClose);
    });
  }
}

/** Counts a window's confirms down; the first failure settles it. Late callbacks after that are ignored. */
class ConfirmWindow {
  private failure: Error | null = null;
  private settled: (() => void) | null = null;

  constructor(private pending: number) {}

  get failed(): boolean {
    return this.failure !== null;
  }

  settle(failure: Error | null): void {
    this.pending -= 1;
    this.failure ??= failure;
    if (this.pending === 0 || failure) this.settled?.();
  }

  done(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.settled = null;
        if (this.failure) reject(this.failure);
        else resolve();
      };
      const timer = setTimeout(() => {
        this.failure ??= new TransientTargetError(`rabbitmq target: ${this.pending} messages were not confirmed within ${timeoutMs} ms`, 'ETIMEDOUT');
        finish();
      }, timeoutMs);
      this.settled = finish;
      if (this.pending === 0 || this.failure) finish();
    });
  }
}

/** Waits for `work` to settle, at most `ms`; never fails (for closing what may already be gone). */
function settled(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    work.then(done, done);
  });
}

function withTimeout<T>(work: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(timeout()), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The AMQP reply code (406, 404, …) or the socket error code (ECONNREFUSED) of a driver error. */
export function amqpCode(error: unknown): number | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}

function errorCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' || typeof code === 'string' ? String(code) : null;
}

/** The broker's own words where amqplib wraps them (`… with message "PRECONDITION_FAILED - …"`), else the message. */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /with message "(.*)"/s.exec(message);
  return quoted ? quoted[1] : message;
}

/** `message size 2000 is larger than configured max size 1024` (RabbitMQ closes the channel with it): the limit. */
export function refusedSizeLimit(error: unknown): number | null {
  if (!error) return null;
  const match = /message size \d+ is larger than (?:configured )?max size (\d+)/.exec(errorText(error));
  return match ? Number(match[1]) : null;
}

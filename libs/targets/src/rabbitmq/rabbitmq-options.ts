import { z } from 'zod';
import { TargetUrlError } from '../errors';
import { failingWith, integerOption, OPTION_BOUNDS, parseTargetOptions, targetOptions } from '../option-bounds';

/** Options of the RabbitMQ target (TargetConnection.options). */
export interface RabbitMqTargetOptions {
  /** The durable topic exchange every event is published to (default `tributary`). */
  exchange: string;
  /**
   * The stream queue bound to the exchange with `<routingPrefix>.#`, declared
   * by the target (default `tributary`); null: none is declared, consumers
   * bind their own queues (a message no queue takes is not confirmed as
   * delivered: the batch is retried).
   */
  streamQueue: string | null;
  /** First tokens of every routing key (default `tributary`): `<prefix>.<source>.<table>.<bucket>.<key>`. */
  routingPrefix: string;
  /** Buckets a table's keys are spread over in the routing key (1–1024, default 16). */
  buckets: number;
  /** Messages published before their confirms are awaited (1–65 535, default 1 000). */
  maxInFlight: number;
  /** The stream queue's `x-max-age` when the target declares it (e.g. `7D`); null: the stream keeps everything (or what a policy says). */
  streamMaxAge: string | null;
  /**
   * The largest message body published, in bytes (default 134 217 728, the
   * broker's default `max_message_size`; at most 536 870 912, its hard
   * limit). A larger event becomes a dead letter. A broker configured lower
   * says so when it refuses one; the target then keeps to its limit.
   */
  maxMessageBytes: number;
  /** Connecting and the AMQP handshake (default 10 000 ms). */
  connectTimeoutMs: number;
  /** A window's confirms, and any other broker round trip (default 30 000 ms): a blocked broker fails the batch as transient instead of hanging it. */
  timeoutMs: number;
}

/** RabbitMQ's default max_message_size (3.8 and later). */
export const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
/** RabbitMQ refuses to be configured above this. */
const BROKER_MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

/**
 * Exchange and queue names: AMQP allows up to 255 bytes of almost anything;
 * these characters keep them unquoted in every tool. `amq.` names are the
 * broker's own (declaring one is refused with ACCESS_REFUSED).
 */
const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
/** Routing key tokens: what a topic pattern can match literally (no `*`, `#`, or empty token). */
const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const MAX_PREFIX_LENGTH = 64;
/** The broker's syntax for x-max-age: a number and a unit, years to seconds. */
const MAX_AGE = /^[1-9][0-9]{0,5}[YMDhms]$/;

const name = (option: string) => {
  const rule = `option ${option} must be 1 to 200 characters of A-Z, a-z, 0-9, _ . : - and not start with amq.`;
  return z
    .string(failingWith(rule))
    .regex(NAME)
    .refine((value) => !value.startsWith('amq.'), rule);
};

const RABBITMQ_OPTIONS = targetOptions({
  exchange: name('exchange').default('tributary'),
  streamQueue: name('streamQueue').nullable().default('tributary'),
  routingPrefix: z
    .string(failingWith(`option routingPrefix must be tokens of A-Z, a-z, 0-9, _ and - separated by dots, at most ${MAX_PREFIX_LENGTH} characters`))
    .max(MAX_PREFIX_LENGTH)
    .regex(PREFIX)
    .default('tributary'),
  buckets: integerOption('buckets', { min: 1, max: 1024 }).default(16),
  maxInFlight: integerOption('maxInFlight', { min: 1, max: 65_535 }).default(1000),
  streamMaxAge: z
    .string(failingWith('option streamMaxAge must be a number and a unit (Y, M, D, h, m or s), e.g. 7D'))
    .regex(MAX_AGE)
    .nullable()
    .default(null),
  maxMessageBytes: integerOption('maxMessageBytes', { min: 1024, max: BROKER_MAX_MESSAGE_BYTES }).default(DEFAULT_MAX_MESSAGE_BYTES),
  connectTimeoutMs: integerOption('connectTimeoutMs', OPTION_BOUNDS.connectTimeoutMs).default(10_000),
  timeoutMs: integerOption('timeoutMs', OPTION_BOUNDS.timeoutMs).default(30_000),
});

export function rabbitMqTargetOptions(options: Record<string, unknown> | undefined): RabbitMqTargetOptions {
  return parseTargetOptions('rabbitmq', RABBITMQ_OPTIONS, options);
}

/**
 * Query parameters amqplib reads from the URL (connection tuning only: TLS
 * files and credentials cannot come from it). Others are refused, so a
 * misspelling does not pass silently.
 */
const URL_PARAMETERS = ['heartbeat', 'frameMax', 'channelMax', 'locale'];

/** A checked broker URL: how to reach it, and how to name it in errors. */
export interface BrokerUrl {
  /** As given: amqplib takes user, password and vhost from it. */
  url: string;
  /** Without user and password: the only form put into an error or a log. */
  shown: string;
  /** The password as written and decoded, to scrub from any broker or driver text. */
  secrets: string[];
}

export function checkBrokerUrl(url: string): BrokerUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetUrlError('rabbitmq target: the url is not a valid URL (want amqp://user:password@host:5672/vhost)');
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') throw new TargetUrlError('rabbitmq target: the url must start with amqp:// or amqps://');
  if (!parsed.hostname) throw new TargetUrlError('rabbitmq target: the url names no host');
  for (const parameter of parsed.searchParams.keys()) {
    if (!URL_PARAMETERS.includes(parameter)) {
      throw new TargetUrlError(`rabbitmq target: url option ${JSON.stringify(parameter)} is not supported (supported: ${URL_PARAMETERS.join(', ')})`);
    }
  }
  const secrets = parsed.password ? [...new Set([parsed.password, safeDecode(parsed.password)])].sort((a, b) => b.length - a.length) : [];
  const shown = new URL(parsed.toString());
  shown.username = '';
  shown.password = '';
  shown.search = '';
  return { url, shown: shown.toString(), secrets };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

import { z } from 'zod';
import { TargetUrlError } from '../errors';
import { booleanOption, failingWith, integerOption, OPTION_BOUNDS, parseTargetOptions, targetOptions } from '../option-bounds';

/** Options of the NATS JetStream target (TargetConnection.options); all optional. */
export interface NatsTargetOptions {
  /** The JetStream stream that stores the events (default `TRIBUTARY`). */
  stream: string;
  /** First tokens of every subject (default `tributary`): `<prefix>.<source>.<table>.<bucket>.<key>`. */
  subjectPrefix: string;
  /** Buckets a table's keys are spread over in the subject (1–1024, default 16). */
  buckets: number;
  /** The stream's duplicate_window when the target creates the stream (default 120 s). */
  duplicateWindowSeconds: number;
  /**
   * Create the stream when it is missing (default true): subjects
   * `<prefix>.>`, file storage, limits retention, no age, size or count
   * limit. False: it must exist (ensureTable refuses otherwise).
   */
  createStream: boolean;
  /** Publishes awaiting their ack at once (1–65 535, default 256). */
  maxInFlight: number;
  /** Connecting, including the handshake (default 10 000 ms). */
  connectTimeoutMs: number;
  /** A publish ack, and any other JetStream round trip (default 10 000 ms): a stuck server fails the batch as transient instead of hanging it. */
  timeoutMs: number;
}

/** Stream names: what every NATS tool takes unquoted (JetStream forbids `.`, `*`, `>` and spaces). */
const STREAM = /^[A-Za-z0-9_-]{1,64}$/;
/** Subject tokens a pattern can match literally: no wildcard, no empty token. */
const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const MAX_PREFIX_LENGTH = 64;
/** A week: JetStream keeps every message id of the window in memory. */
const MAX_DUPLICATE_WINDOW_SECONDS = 7 * 24 * 3600;

const NATS_OPTIONS = targetOptions({
  stream: z.string(failingWith('option stream must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -')).regex(STREAM).default('TRIBUTARY'),
  subjectPrefix: z
    .string(failingWith(`option subjectPrefix must be tokens of A-Z, a-z, 0-9, _ and - separated by dots, at most ${MAX_PREFIX_LENGTH} characters`))
    .max(MAX_PREFIX_LENGTH)
    .regex(PREFIX)
    .default('tributary'),
  buckets: integerOption('buckets', { min: 1, max: 1024 }).default(16),
  duplicateWindowSeconds: integerOption('duplicateWindowSeconds', { min: 1, max: MAX_DUPLICATE_WINDOW_SECONDS }).default(120),
  createStream: booleanOption('createStream').default(true),
  maxInFlight: integerOption('maxInFlight', { min: 1, max: 65_535 }).default(256),
  connectTimeoutMs: integerOption('connectTimeoutMs', OPTION_BOUNDS.connectTimeoutMs).default(10_000),
  timeoutMs: integerOption('timeoutMs', OPTION_BOUNDS.timeoutMs).default(10_000),
});

export function natsTargetOptions(options: Record<string, unknown> | undefined): NatsTargetOptions {
  return parseTargetOptions('nats', NATS_OPTIONS, options);
}

/** A checked server URL: how to reach it, and how to name it in errors. */
export interface NatsServer {
  /** `host:port` without credentials: what the client is given, so its own errors cannot carry them. */
  server: string;
  tls: boolean;
  user: string | undefined;
  pass: string | undefined;
  /** `nats://host:port` (or `tls://`): the only form put into an error or a log. */
  shown: string;
  /** The password as written and decoded, to scrub from any client or server text. */
  secrets: string[];
}

/**
 * `nats://[user:password@]host[:port]` or `tls://…` (TLS required). No
 * path or query: nothing else is configured through the URL.
 */
export function checkNatsUrl(url: string): NatsServer {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetUrlError('nats target: the url is not a valid URL (want nats://user:password@host:4222)');
  }
  if (parsed.protocol !== 'nats:' && parsed.protocol !== 'tls:') throw new TargetUrlError('nats target: the url must start with nats:// or tls://');
  if (!parsed.hostname) throw new TargetUrlError('nats target: the url names no host');
  if ((parsed.pathname && parsed.pathname !== '/') || parsed.search || parsed.hash) {
    throw new TargetUrlError('nats target: the url takes no path, query or fragment (nats://user:password@host:port)');
  }
  const host = parsed.hostname.includes(':') && !parsed.hostname.startsWith('[') ? `[${parsed.hostname}]` : parsed.hostname;
  const server = `${host}:${parsed.port || '4222'}`;
  const user = parsed.username ? safeDecode(parsed.username) : undefined;
  const pass = parsed.password ? safeDecode(parsed.password) : undefined;
  const secrets = parsed.password ? [...new Set([parsed.password, safeDecode(parsed.password)])].sort((a, b) => b.length - a.length) : [];
  return { server, tls: parsed.protocol === 'tls:', user, pass, shown: `${parsed.protocol}//${server}`, secrets };
}

/** `text` with every secret replaced: client and server messages are not trusted to leave the password out. */
export function scrub(text: string, secrets: readonly string[]): string {
  return secrets.reduce((scrubbed, secret) => (secret ? scrubbed.split(secret).join('***') : scrubbed), text);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

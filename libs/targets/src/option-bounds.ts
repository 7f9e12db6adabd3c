import { z } from 'zod';
import { TargetOptionError } from './errors';

/**
 * Every numeric target option has an upper bound: a pool of 1e15
 * connections or a 1e300 ms timeout is a mistake (or an attack) that would
 * only show when the worker runs out of sockets or hangs for ever.
 */
export interface IntegerBounds {
  min: number;
  max: number;
}

export const OPTION_BOUNDS = {
  poolMax: { min: 1, max: 64 },
  timeoutMs: { min: 1, max: 120_000 },
  connectTimeoutMs: { min: 1, max: 60_000 },
  busyTimeoutMs: { min: 0, max: 60_000 },
  retries: { min: 0, max: 10 },
} satisfies Record<string, IntegerBounds>;

/** Schema params that report every failure of that schema as `message`: an option's message states its whole rule, not the part broken. */
export function failingWith(message: string): { errorMap: z.ZodErrorMap } {
  return { errorMap: () => ({ message }) };
}

/** Option `name`: an integer within `bounds`, refused naming the option and the range. */
export function integerOption(name: string, bounds: IntegerBounds) {
  return z.number(failingWith(`option ${name} must be an integer from ${bounds.min} to ${bounds.max}`)).int().min(bounds.min).max(bounds.max);
}

/** Option `name`: true or false. */
export function booleanOption(name: string) {
  return z.boolean(failingWith(`option ${name} must be true or false`));
}

/**
 * Option `transactional` of the targets that have transactions across
 * tables: all changes of one source transaction routed to the target become
 * visible there in one target transaction (issue #15). Read by the relay and
 * the worker (isTransactional of @tributary/control), not by the target itself.
 */
export const TRANSACTIONAL_OPTION = { transactional: booleanOption('transactional').default(false) };

/** Option `name`: a string of at most `max` characters. */
export function stringOption(name: string, max: number) {
  return z.string(failingWith(`option ${name} must be a string of at most ${max} characters`)).max(max);
}

/** A target's options: those of `shape` and no others; an unknown one is refused with the known ones listed. */
export function targetOptions<Shape extends z.ZodRawShape>(shape: Shape) {
  const known = Object.keys(shape).join(', ');
  return z
    .object(shape, {
      errorMap: (issue) => ({ message: issue.code === 'unrecognized_keys' ? `unknown option ${issue.keys[0]} (known: ${known})` : 'options must be an object' }),
    })
    .strict();
}

/**
 * `options` (none: every default) parsed with `schema`, or a TargetOptionError
 * saying `<kind> target: <the first problem>` (never a ZodError: callers
 * decide with instanceof). An unknown option is reported before anything
 * else: it is usually a misspelling, and the option meant then looks missing.
 */
export function parseTargetOptions<Schema extends z.ZodTypeAny>(kind: string, schema: Schema, options: Record<string, unknown> | undefined): z.output<Schema> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  const { issues } = parsed.error;
  const first = issues.find((issue) => issue.code === 'unrecognized_keys') ?? issues[0];
  throw new TargetOptionError(`${kind} target: ${first.message}`);
}

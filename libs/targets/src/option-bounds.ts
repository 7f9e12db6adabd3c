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

/** `value` as an integer within `bounds`, or a TargetOptionError naming the option and the range. */
export function integerOption(kind: string, name: string, value: unknown, bounds: IntegerBounds): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new TargetOptionError(`${kind} target: option ${name} must be an integer from ${bounds.min} to ${bounds.max}`);
  }
  return value;
}

/** A string option of at most `max` characters. */
export function stringOption(kind: string, name: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length > max) throw new TargetOptionError(`${kind} target: option ${name} must be a string of at most ${max} characters`);
  return value;
}

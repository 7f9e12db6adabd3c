import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { Op, Row } from '@tributary/model';
import { ConflictKind, RouteConfigError } from '@tributary/replication';

/** What a custom resolver is given: both rows (target columns) and what kind of conflict it is. */
export interface CustomConflict {
  route: string;
  source: string;
  /** Source table. */
  table: string;
  seq: number;
  kind: ConflictKind;
  op: Op;
  /** The row's key at the target. */
  key: Row;
  incoming: { before: Row | null; after: Row | null };
  /** The target's row now, or null if it has none. */
  target: Row | null;
}

/** What a custom resolver returns (optionally with a `reason` for the conflict log). */
export type CustomDecision = { action: 'apply' } | { action: 'keep' } | { action: 'park' } | { action: 'delete' } | { action: 'write'; row: Row };

export interface CustomResolver {
  readonly name: string;
  /** @throws whatever the resolver throws, or for an answer that is not a decision (the change becomes a dead letter). */
  decide(conflict: CustomConflict): Promise<{ decision: CustomDecision; reason: string }>;
}

type ResolverFunction = (conflict: CustomConflict) => unknown;

/** A resolver that does not answer in this time fails (its change becomes a dead letter) rather than stall the route. */
const RESOLVE_TIMEOUT_MS = 5000;
/** CommonJS modules: Tributary is built to CommonJS, and require() loads them the same in tests and in production. */
const EXTENSIONS = ['.js', '.cjs'];
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const ACTIONS = new Set(['apply', 'keep', 'park', 'delete', 'write']);

/**
 * Loads custom conflict resolvers by name from the one directory the
 * operator configured (CONFLICT_RESOLVERS_DIR): a route can name a module,
 * never a path, so the admin API cannot make a worker run arbitrary files.
 * A module is CommonJS (.js or .cjs) and exports a function (module.exports,
 * `resolve` or `default`) that takes a CustomConflict and returns (or
 * resolves to) a CustomDecision.
 */
export class CustomResolverLoader {
  private readonly loaded = new Map<string, Promise<CustomResolver>>();

  constructor(private readonly dir: string | null) {}

  /** @throws RouteConfigError: no directory configured, no such module, or it exports no function (the route waits, showing why). */
  load(name: string): Promise<CustomResolver> {
    let resolver = this.loaded.get(name);
    if (!resolver) {
      resolver = this.import(name);
      this.loaded.set(name, resolver);
      resolver.catch(() => this.loaded.delete(name)); // try again on the next batch: the operator may be deploying it
    }
    return resolver;
  }

  private async import(name: string): Promise<CustomResolver> {
    if (!this.dir) throw new RouteConfigError(`custom conflict resolver ${JSON.stringify(name)}: this worker has no CONFLICT_RESOLVERS_DIR`);
    if (!NAME.test(name)) throw new RouteConfigError(`custom conflict resolver ${JSON.stringify(name)}: not a module name`);
    const root = realpathSync(this.dir);
    const file = EXTENSIONS.map((extension) => join(root, name + extension)).find((candidate) => existsSync(candidate));
    if (!file || !realpathSync(file).startsWith(root + sep)) {
      throw new RouteConfigError(`custom conflict resolver ${JSON.stringify(name)}: no ${name}.js or ${name}.cjs (CommonJS) in CONFLICT_RESOLVERS_DIR`);
    }
    let module: Record<string, unknown>;
    try {
      module = createRequire(__filename)(realpathSync(file)) as Record<string, unknown>;
    } catch (error) {
      throw new RouteConfigError(`custom conflict resolver ${JSON.stringify(name)} cannot be loaded: ${(error as Error).message}`);
    }
    const fn = [module, module.resolve, module.default].find(
      (candidate): candidate is ResolverFunction => typeof candidate === 'function',
    );
    if (!fn) throw new RouteConfigError(`custom conflict resolver ${JSON.stringify(name)}: the module exports no function`);
    return { name, decide: (conflict) => runResolver(name, fn, conflict) };
  }
}

async function runResolver(name: string, fn: ResolverFunction, conflict: CustomConflict): Promise<{ decision: CustomDecision; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`resolver ${name} did not answer within ${RESOLVE_TIMEOUT_MS} ms`)), RESOLVE_TIMEOUT_MS);
  });
  try {
    const answer = await Promise.race([Promise.resolve().then(() => fn(conflict)), timeout]);
    return { decision: asDecision(name, answer), reason: reasonOf(name, answer) };
  } catch (error) {
    throw new Error(`custom resolver ${name} failed: ${(error as Error)?.message ?? String(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

function asDecision(name: string, answer: unknown): CustomDecision {
  const action = (answer as { action?: unknown } | null)?.action;
  if (typeof action !== 'string' || !ACTIONS.has(action)) {
    throw new Error(`returned ${JSON.stringify(answer)}, not a decision ({ action: 'apply' | 'keep' | 'park' | 'delete' | 'write', row? })`);
  }
  if (action !== 'write') return { action } as CustomDecision;
  const row = (answer as { row?: unknown }).row;
  if (!row || typeof row !== 'object' || Array.isArray(row)) throw new Error(`resolver ${name} answered write without a row`);
  return { action, row: row as Row };
}

function reasonOf(name: string, answer: unknown): string {
  const given = (answer as { reason?: unknown }).reason;
  const action = (answer as { action: string }).action;
  return `custom resolver ${name}: ${action}${typeof given === 'string' && given ? ` (${given.slice(0, 500)})` : ''}`;
}

import { CatalogRepository, isTransactional, TargetRecord } from '@tributary/control';
import { Target, TargetConfigError, TargetOptionError, TargetRegistry } from '@tributary/targets';
import { checkName, ConflictError, InvalidInputError, NotFoundError, reasonOf } from './errors';
import { checkTransactionalRoute } from './route-rules';
import { scrub, secretsOf } from './secrets';

/** A target and the routes that write to it. */
export interface TargetUsage {
  target: TargetRecord;
  routes: string[];
}

export type ConnectivityResult = { ok: true; latencyMs: number } | { ok: false; error: string };

/** How long a connectivity test may take before it is reported as failed. */
const TEST_TIMEOUT_MS = 10_000;

/**
 * Targets: where routes write (PostgreSQL, MySQL/MariaDB, ...), chosen by
 * kind from the registry. The URL and secret-looking options are
 * credentials; every message built here has them scrubbed.
 */
export class TargetSetup {
  constructor(
    private readonly catalog: CatalogRepository,
    private readonly registry: TargetRegistry,
  ) {}

  /** @throws InvalidInputError (id, kind, url, options), ConflictError (id taken). */
  async create(target: TargetRecord): Promise<TargetRecord> {
    await this.check(target);
    if (await this.catalog.getTarget(target.id)) throw new ConflictError(`target ${target.id} already exists`, 'id');
    if (!(await this.catalog.insertTarget(target))) throw new ConflictError(`target ${target.id} already exists`, 'id');
    return target;
  }

  /** Adds or replaces a target (scripts and the demo: safe to run again). */
  async ensure(target: TargetRecord): Promise<void> {
    await this.check(target);
    await this.catalog.upsertTarget(target);
  }

  /**
   * Replaces the connection settings given (the kind stays); workers switch
   * to them on their next configuration refresh.
   *
   * @throws NotFoundError, InvalidInputError (url, options).
   */
  async update(id: string, changes: Partial<Pick<TargetRecord, 'url' | 'options'>>): Promise<TargetRecord> {
    const current = await this.require(id);
    const updated: TargetRecord = { ...current, url: changes.url ?? current.url, options: changes.options ?? current.options };
    await this.check(updated);
    // Turned transactional: every route into it must fit (checkTransactionalRoute).
    if (isTransactional(updated)) for (const route of (await this.catalog.listRoutes()).filter((r) => r.targetId === id)) checkTransactionalRoute(route, updated);
    await this.catalog.updateTarget(id, updated);
    return updated;
  }

  async list(): Promise<TargetUsage[]> {
    const [targets, routes] = await Promise.all([this.catalog.listTargets(), this.catalog.listRoutes()]);
    return targets.map((target) => ({ target, routes: routes.filter((route) => route.targetId === target.id).map((route) => route.id) }));
  }

  /** @throws NotFoundError */
  async get(id: string): Promise<TargetUsage> {
    const target = await this.require(id);
    const routes = (await this.catalog.listRoutes()).filter((route) => route.targetId === id).map((route) => route.id);
    return { target, routes };
  }

  /** @throws NotFoundError; ConflictError while routes write to it. */
  async delete(id: string): Promise<void> {
    const { routes } = await this.get(id);
    if (routes.length > 0) throw new ConflictError(`target ${id} is used by routes ${routes.join(', ')}; delete them first`);
    await this.catalog.deleteTarget(id);
  }

  /** Connects and runs a round trip. A failure is a result, not an error: the answer to "does it work?". @throws NotFoundError */
  async test(id: string): Promise<ConnectivityResult> {
    const record = await this.require(id);
    const started = process.hrtime.bigint();
    try {
      await this.use(record, (target) => withTimeout(target.ping(), TEST_TIMEOUT_MS));
      return { ok: true, latencyMs: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10 };
    } catch (error) {
      return { ok: false, error: scrub(reasonOf(error), secretsOf(record.url, record.options)) };
    }
  }

  /** Runs `work` with a live Target for the record, closed afterwards. */
  async use<T>(record: TargetRecord, work: (target: Target) => Promise<T>): Promise<T> {
    const target = this.registry.create({ kind: record.kind, url: record.url, options: record.options });
    try {
      return await work(target);
    } finally {
      await target.close().catch(() => undefined);
    }
  }

  /** The target kinds that can detect conflicts (TargetFactory.detectsConflicts). */
  conflictKinds(): string[] {
    return this.registry.conflictKinds();
  }

  /** Target kinds that keep versions per source (several sources with shared keys into one table). */
  sourceVersionKinds(): string[] {
    return this.registry.sourceVersionKinds();
  }

  /** @throws NotFoundError */
  async require(id: string): Promise<TargetRecord> {
    const target = await this.catalog.getTarget(id);
    if (!target) throw new NotFoundError(`target ${id} does not exist`, 'targetId');
    return target;
  }

  /**
   * Lets the target's factory judge the URL and the options together (scheme,
   * database, known and required options); the error's class names the field.
   */
  private async check(target: TargetRecord): Promise<void> {
    checkName('id', target.id);
    const kinds = this.registry.kinds();
    if (!kinds.includes(target.kind)) {
      throw new InvalidInputError(`target kind ${JSON.stringify(target.kind)} is not one of: ${kinds.join(', ')}`, 'kind');
    }
    const size = JSON.stringify(target.options ?? {}).length;
    if (size > MAX_OPTIONS_JSON) throw new InvalidInputError(`options: at most ${MAX_OPTIONS_JSON} characters as JSON (got ${size})`, 'options');
    const secrets = secretsOf(target.url, target.options);
    let created: Target;
    try {
      created = this.registry.create({ kind: target.kind, url: target.url, options: target.options });
    } catch (error) {
      if (error instanceof TargetConfigError) {
        const field = error instanceof TargetOptionError ? 'options' : 'url';
        throw new InvalidInputError(scrub(error.message, secrets), field);
      }
      throw error;
    }
    await created.close().catch(() => undefined);
  }
}

/** Options are a handful of settings; a few kilobytes is plenty (the API takes bodies up to 1 MB). */
const MAX_OPTIONS_JSON = 8192;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

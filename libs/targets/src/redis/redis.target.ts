import Redis from 'ioredis';
import { z } from 'zod';
import { Row, TargetTableSpec } from '@tributary/model';
import { planBatch } from '../apply-plan';
import { conflictsNotSupported, versionsPerSourceNotSupported, TargetConfigError, TargetUrlError, TransientTargetError } from '../errors';
import { failingWith, integerOption, OPTION_BOUNDS, parseTargetOptions, stringOption, targetOptions } from '../option-bounds';
import { APPLY_SCRIPT } from './redis-lua';
import { encodeRow, fromRedisText, renderKey, validateKeyTemplate } from './redis-values';
import { checkScanLimit, chunks, KEYS_PER_READ, uniqueKeys } from '../key-cursor';
import { compareByKey } from '../row-order';
import { evolvedTable, ExistingTable, planTableEvolution, tableProblems } from '../sql/table-evolution';
import { validateTableSpec } from '../table-spec';
import { ApplyBatch, ApplyHooks, ApplyResult, Target, TargetCheckpoint, TargetConnection, TargetFactory } from '../target';

/** Options of the Redis target (TargetConnection.options); all optional. */
export interface RedisTargetOptions {
  /** Key of a row: `{table}` and `{pk}` (key values joined by ':', ':' and '\' escaped). Default '{table}:{pk}'. */
  keyTemplate: string;
  /** A row as one JSON string (`SET`) or as a hash of column → text (`HSET`). Default 'json'. */
  format: 'json' | 'hash';
  /** Put before every key this target writes, its bookkeeping included. Default ''. */
  prefix: string;
  /** Connect timeout in ms (default 10 000). */
  connectTimeoutMs: number;
}

const REDIS_OPTIONS = targetOptions({
  keyTemplate: stringOption('keyTemplate', 256).default('{table}:{pk}'),
  format: z.enum(['json', 'hash'], failingWith('option format has an invalid value')).default('json'),
  prefix: stringOption('prefix', 256).default(''),
  connectTimeoutMs: integerOption('connectTimeoutMs', OPTION_BOUNDS.connectTimeoutMs).default(10_000),
});

/**
 * Redis target: one key per row. Each batch is one Lua script (redis-lua.ts),
 * so the per-row seq guard, the writes, the versions and the checkpoint are
 * atomic in Redis (invariants 3 and 4). Redis has no schema to refuse a row,
 * so nothing is refused (only changes that name no row, before the script).
 * Table specs are recorded (`<prefix>_tributary:tables`) so a key change is
 * refused like on the SQL targets, and readRows knows the columns.
 */
export class RedisTarget implements Target {
  readonly kind = 'redis';
  private readonly options: RedisTargetOptions;
  private readonly redis: Redis;
  private readonly tablesKey: string;
  private readonly checkpointsKey: string;
  private sha: string | undefined;
  private connectionError: string | null = null;
  /** Serialises this process's ensureTable calls; across processes the compare-and-set below holds. */
  private ddl: Promise<unknown> = Promise.resolve();

  constructor(connection: TargetConnection) {
    this.options = redisTargetOptions(connection.options);
    checkRedisUrl(connection.url);
    this.redis = new Redis(connection.url, {
      lazyConnect: true,
      connectTimeout: this.options.connectTimeoutMs,
      // A command fails at the first lost connection (the worker retries the whole batch, in order),
      // while the client keeps reconnecting in the background.
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    // Errors reach callers of each command; the last connection error (e.g. ECONNREFUSED) is kept to say why.
    this.redis.on('error', (error: Error & { code?: unknown }) => {
      this.connectionError = typeof error.code === 'string' ? error.code : error.name;
    });
    this.redis.on('ready', () => {
      this.connectionError = null;
    });
    this.tablesKey = `${this.options.prefix}_tributary:tables`;
    this.checkpointsKey = `${this.options.prefix}_tributary:checkpoints`;
  }

  /**
   * Nothing to create in Redis; records the table's columns and key (evolved
   * as on the SQL targets: the steps it has not had carried out on the
   * recorded columns, columns added NULL-able, dropped NOT NULL columns made
   * NULL-able) and the steps it has had, in one compare-and-set, so a step
   * is had exactly when the record shows it carried out.
   *
   * Rows already stored keep the field names they were written with: a
   * renamed column reads as NULL in them until a change of the row writes
   * it, a dropped one stays in them (and would show again under a column
   * later added with its name). A re-sync rewrites them.
   *
   * @throws TargetConfigError if the recorded key is not the spec's key.
   */
  ensureTable(table: TargetTableSpec): Promise<void> {
    const spec = validateTableSpec(table);
    const run = this.ddl.then(() => this.transient(() => this.evolve(spec)));
    this.ddl = run.catch(() => undefined);
    return run;
  }

  private async evolve(spec: TargetTableSpec): Promise<void> {
    for (;;) {
      const before = await this.redis.hget(this.tablesKey, spec.name);
      const existing = before === null ? null : (JSON.parse(before) as ExistingTable);
      const next = evolvedTable(existing, spec);
      const after = JSON.stringify(next);
      if (after === before) return;
      // Compare-and-set: another process evolving the same table at once makes us re-read and re-plan.
      const swapped = await this.redis.eval(
        "if redis.call('HGET', KEYS[1], ARGV[1]) == (ARGV[2] ~= '' and ARGV[2] or false) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end return 0",
        1,
        this.tablesKey,
        spec.name,
        before ?? '',
        after,
      );
      if (swapped === 1) return;
    }
  }

  async checkTable(table: TargetTableSpec): Promise<string[]> {
    const spec = validateTableSpec(table);
    return tableProblems(spec, await this.recorded(spec.name), false);
  }

  async apply(batch: ApplyBatch, hooks: ApplyHooks): Promise<ApplyResult> {
    if (hooks.resolveConflicts) throw conflictsNotSupported(this.kind);
    if (batch.versions) throw versionsPerSourceNotSupported(this.kind);
    const plan = planBatch(batch.table, batch.changes);
    if (plan.writes.length > 0) await this.checkShape(batch.table);
    // No transaction to record them in: dead letters are durable before the script (our commit) runs.
    if (plan.invalid.length > 0) await hooks.recordRejected(plan.invalid);
    const { prefix, keyTemplate, format } = this.options;
    const keys: string[] = [];
    const args: string[] = [batch.reapply ? '1' : '0', batch.routeId, String(batch.watermark), String(Date.now()), format];
    for (const write of plan.writes) {
      keys.push(renderKey(prefix, keyTemplate, batch.table, write.key));
      args.push(write.kind === 'delete' ? 'd' : 'u', String(write.seq), write.row ? JSON.stringify(encodeRow(batch.table, write.row)) : '');
    }
    const flags = await this.transient(() => this.runScript(this.versionsKey(batch.table.name), keys, args));
    const written = new Set(plan.writes.filter((_, i) => flags[i] === 1).map((w) => w.change));
    const applied = flags.filter((flag) => flag === 1).length;
    const result: ApplyResult = { applied, skipped: plan.writes.length - applied, rejected: plan.invalid };
    if (batch.reapply) {
      const refused = new Set(plan.invalid.map((r) => r.change));
      result.superseded = batch.changes.filter((c) => !written.has(c) && !refused.has(c)).map((c) => c.seq);
    }
    return result;
  }

  private async runScript(versionsKey: string, keys: string[], args: string[]): Promise<number[]> {
    const flags = await this.redis.evalsha(await this.scriptSha(), 2 + keys.length, versionsKey, this.checkpointsKey, ...keys, ...args).catch(
      async (error: unknown) => {
        // The script cache is empty after a Redis restart or SCRIPT FLUSH: load it again once.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        this.sha = undefined;
        return this.redis.evalsha(await this.scriptSha(), 2 + keys.length, versionsKey, this.checkpointsKey, ...keys, ...args);
      },
    );
    return (flags as unknown[]).map(Number);
  }

  private async scriptSha(): Promise<string> {
    this.sha ??= String(await this.redis.script('LOAD', APPLY_SCRIPT));
    return this.sha;
  }

  /**
   * A batch must not omit a column the recorded table has as NOT NULL: the
   * SQL targets would refuse it, and it means ensureTable has not run for
   * this shape yet (the worker calls it first), so retry later.
   */
  private async checkShape(table: TargetTableSpec): Promise<void> {
    const existing = await this.recorded(table.name);
    if (existing === null) return;
    const evolution = planTableEvolution(table, existing, false);
    if (evolution.makeNullable.length > 0) {
      throw new TransientTargetError(
        `redis target: table ${table.name} has NOT NULL columns ${evolution.makeNullable.join(', ')} this batch lacks; ensureTable must evolve it first`,
        null,
      );
    }
  }

  async readCheckpoint(routeId: string): Promise<TargetCheckpoint | null> {
    const saved = await this.transient(() => this.redis.hget(this.checkpointsKey, routeId));
    if (saved === null) return null;
    const [watermark, ms] = saved.split(':');
    return { routeId, watermark: Number(watermark), updatedAt: new Date(Number(ms)) };
  }

  /** Every live row of the table, found through its versions hash (not a SCAN of the keyspace). */
  async readRows(table: TargetTableSpec): Promise<Row[]> {
    const spec = await this.readableSpec(table);
    const rows = await this.fetchRows(spec, await this.liveRowKeys(spec));
    return rows.sort(compareByKey(spec.key));
  }

  /**
   * The rows of `keys`, fetched by their rendered row keys (a pipeline of
   * KEYS_PER_READ at a time). A deleted row's key was DEL'd by the apply
   * script (only its tombstone in the versions hash is left), so it is absent.
   */
  async readRowsByKeys(table: TargetTableSpec, keys: Row[]): Promise<Row[]> {
    const spec = await this.readableSpec(table);
    const { prefix, keyTemplate } = this.options;
    return this.fetchRows(spec, uniqueKeys(spec, keys).map((key) => renderKey(prefix, keyTemplate, spec, key)));
  }

  /**
   * One page in the order of the rendered row keys (a string order, not the
   * table's key order); the cursor is the last row key returned.
   *
   * Not SCAN/HSCAN: their cursors may return an element twice (when the hash
   * table is resized between calls), and an opaque cursor cannot carry what
   * was returned already, so "exactly once" could not hold. Instead every page
   * reads the live row keys from the versions hash, sorts them and takes the
   * `limit` after the cursor: keyset pagination on the row key, exactly once
   * for every row present throughout. The price is one read of the versions
   * hash per page (O(rows)), so a verify of a large table should use large pages.
   */
  async scanRows(table: TargetTableSpec, cursor: string | null, limit: number): Promise<{ rows: Row[]; next: string | null }> {
    const spec = await this.readableSpec(table);
    checkScanLimit(limit);
    const after = (await this.liveRowKeys(spec)).filter((key) => cursor === null || key > cursor).sort();
    const page = after.slice(0, limit);
    return { rows: await this.fetchRows(spec, page), next: after.length > limit ? page[page.length - 1] : null };
  }

  /** The spec, if the table was set up (ensureTable) with all of its columns: readRows needs the recorded table. */
  private async readableSpec(table: TargetTableSpec): Promise<TargetTableSpec> {
    const spec = validateTableSpec(table);
    const existing = await this.recorded(spec.name);
    if (existing === null) throw new TargetConfigError(`redis target: table ${spec.name} was never set up`);
    const known = new Set(existing.columns.map((c) => c.name));
    const unknown = spec.columns.filter((c) => !known.has(c.name)).map((c) => c.name);
    if (unknown.length > 0) throw new TargetConfigError(`redis target: table ${spec.name} has no column ${unknown.join(', ')}`);
    return spec;
  }

  /** Row keys of the table's live rows: versions that are not tombstones (':d'). */
  private async liveRowKeys(spec: TargetTableSpec): Promise<string[]> {
    const versions = await this.transient(() => this.redis.hgetall(this.versionsKey(spec.name)));
    return Object.entries(versions)
      .filter(([, version]) => !version.endsWith(':d'))
      .map(([key]) => key);
  }

  /**
   * The rows stored at `rowKeys`, decoded, KEYS_PER_READ keys a pipeline. A
   * key with nothing stored is left out: a row deleted since its key was
   * listed, or a key the target never held (HGETALL gives {} for it; a stored
   * hash row always holds its key columns, never null).
   */
  private async fetchRows(spec: TargetTableSpec, rowKeys: string[]): Promise<Row[]> {
    const rows: Row[] = [];
    for (const part of chunks(rowKeys, KEYS_PER_READ)) {
      const pipeline = this.redis.pipeline();
      for (const key of part) {
        if (this.options.format === 'json') pipeline.get(key);
        else pipeline.hgetall(key);
      }
      const results = (await this.transient(() => pipeline.exec())) ?? [];
      for (const [error, value] of results) {
        if (error) throw new TransientTargetError(`redis target: ${error.message}`, null);
        const stored = (this.options.format === 'json' ? JSON.parse(String(value)) : value) as Record<string, string | null> | null;
        if (stored === null || Object.keys(stored).length === 0) continue;
        const row: Row = {};
        for (const column of spec.columns) row[column.name] = fromRedisText(column, stored[column.name]);
        rows.push(row);
      }
    }
    return rows;
  }

  async ping(): Promise<void> {
    await this.transient(() => this.redis.ping());
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private versionsKey(table: string): string {
    return `${this.options.prefix}_tributary:rows:${table}`;
  }

  private async recorded(table: string): Promise<ExistingTable | null> {
    const text = await this.transient(() => this.redis.hget(this.tablesKey, table));
    return text === null ? null : (JSON.parse(text) as ExistingTable);
  }

  /** Every Redis failure means "retry later"; the message is ioredis's own (it never holds the URL or password). */
  private async transient<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof TargetConfigError || error instanceof TransientTargetError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : null;
      const why = this.connectionError && this.redis.status !== 'ready' ? ` (connection: ${this.connectionError})` : '';
      throw new TransientTargetError(`redis target: ${message}${why}`, code ?? this.connectionError);
    }
  }
}

function checkRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetUrlError('redis target: the url is not a valid URL (want redis://host:port/db)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new TargetUrlError('redis target: the url must start with redis:// or rediss://');
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new TargetUrlError('redis target: the database in the url must be a number');
}

export function redisTargetOptions(options: Record<string, unknown> | undefined): RedisTargetOptions {
  const result = parseTargetOptions('redis', REDIS_OPTIONS, options);
  validateKeyTemplate(result.keyTemplate);
  return result;
}

export const redisTargetFactory: TargetFactory = {
  kind: 'redis',
  detectsConflicts: false,
  versionsPerSource: false,
  create: (connection) => new RedisTarget(connection),
};

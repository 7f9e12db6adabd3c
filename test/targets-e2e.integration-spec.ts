import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { introspectTable } from '@tributary/capture';
import { compileFilter, compileMapping, RouteMapping } from '@tributary/replication';
import { HttpTarget, RedisTarget, SqliteTarget, Target } from '@tributary/targets';
import { createPipeline, deleteRedisPrefix, ITEMS_DDL, Pipeline, runItemsWorkload, TEST_REDIS_URL, uniqueName } from '@tributary/testing';
import { HttpTestReceiver } from '../libs/targets/src/test-kit/http-test-receiver';

/**
 * The new targets through the real pipeline: one MariaDB table, captured by
 * triggers, relayed through BullMQ and applied by the compiled worker process
 * to a SQLite file, Redis keys and a signed webhook at once; then every
 * target must hold exactly the source's rows.
 */
/** A subset, reshaped: rows move in and out of it as the workload updates grp and amount. */
const SUBSET_FILTER = 'grp in (1, 2) and amount >= 300';
const SUBSET_MAPPING: RouteMapping = { exclude: ['payload'], rename: { name: 'title' } };

describe('pipeline: MariaDB → SQLite, Redis and an HTTP webhook', () => {
  const secret = 'e2e-webhook-secret';
  let pipeline: Pipeline;
  let dir: string;
  let redisBase: string;
  let redisPrefix: string;
  let receiver: HttpTestReceiver;
  const readers: Target[] = [];

  beforeAll(async () => {
    pipeline = await createPipeline();
    dir = mkdtempSync(join(tmpdir(), 'trib-e2e-sqlite-'));
    redisBase = uniqueName('trib_e2e');
    redisPrefix = `${redisBase}:`; // deleteRedisPrefix removes `<base>:*`
    receiver = new HttpTestReceiver(secret);
    const { url, readUrl } = await receiver.start();
    const sqliteUrl = `sqlite://${join(dir, 'edge.db')}`;
    const { source, setup } = pipeline;
    await source.knex.raw(ITEMS_DDL);
    await setup.addSource('src', source.url);
    await setup.captureTable('src', 'items');
    await setup.addTarget({ id: 'lite', kind: 'sqlite', url: sqliteUrl, options: {} });
    await setup.addTarget({ id: 'kv', kind: 'redis', url: TEST_REDIS_URL, options: { prefix: redisPrefix, format: 'hash' } });
    await setup.addTarget({ id: 'hook', kind: 'http', url, options: { secret } });
    for (const target of ['lite', 'kv', 'hook']) {
      await setup.addRoute({ id: `items-${target}`, sourceId: 'src', table: 'items', targetId: target, targetTable: 'items', enabled: true });
      await setup.addRoute({
        id: `subset-${target}`,
        sourceId: 'src',
        table: 'items',
        targetId: target,
        targetTable: 'items_subset',
        enabled: true,
        filter: SUBSET_FILTER,
        mapping: SUBSET_MAPPING as Record<string, unknown>,
      });
    }
    readers.push(
      new SqliteTarget({ kind: 'sqlite', url: sqliteUrl }),
      new RedisTarget({ kind: 'redis', url: TEST_REDIS_URL, options: { prefix: redisPrefix, format: 'hash' } }),
      new HttpTarget({ kind: 'http', url, options: { secret, readUrl } }),
    );
    pipeline.start('relay');
    // SQLite files must lie inside SQLITE_DIR (the working directory by default).
    pipeline.start('worker', { SQLITE_DIR: dir });
  });

  afterAll(async () => {
    await Promise.all(readers.map((reader) => reader.close()));
    await pipeline?.teardown();
    await receiver?.stop();
    if (redisBase) await deleteRedisPrefix(TEST_REDIS_URL, redisBase);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('replicates a random workload to all three targets exactly', async () => {
    const stats = await runItemsWorkload(pipeline.source.url, { connections: 3, transactionsPerConnection: 60, keySpace: 40 });
    expect(stats.committed).toBeGreaterThan(0);
    for (const [route, reader] of [
      ['items-lite', readers[0]],
      ['items-kv', readers[1]],
      ['items-hook', readers[2]],
    ] as const) {
      await pipeline.waitForCatchUp(route, 60_000);
      const { source, target } = await pipeline.compare('items', reader, 'items');
      expect(source.length).toBeGreaterThan(0);
      expect({ route, rows: target }).toEqual({ route, rows: source });
    }
  }, 120_000);

  it('keeps a filtered, mapped route on each of them equal to the matching source rows', async () => {
    await runItemsWorkload(pipeline.source.url, { connections: 3, transactionsPerConnection: 60, keySpace: 40 });
    const schema = await introspectTable(pipeline.source.knex, 'items');
    const filter = compileFilter(SUBSET_FILTER, schema.columns);
    const mapping = compileMapping(SUBSET_MAPPING, schema.columns, schema.key);
    const context = { source: 'src', table: 'items', seq: 0, op: 'insert' as const, ts: 0 };
    for (const [route, reader] of [
      ['subset-lite', readers[0]],
      ['subset-kv', readers[1]],
      ['subset-hook', readers[2]],
    ] as const) {
      await pipeline.waitForCatchUp(route, 60_000);
      const { source } = await pipeline.compare('items', reader, 'items');
      const expected = source.filter((row) => filter.evaluate(row)).map((row) => mapping.mapRow(row, context));
      const target = await reader.readRows({ name: 'items_subset', columns: mapping.columns, key: mapping.key });
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(source.length);
      expect({ route, rows: target }).toEqual({ route, rows: expected });
    }
  }, 120_000);
});

import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { TargetConfigError } from '../errors';
import { RedisTarget, redisTargetFactory } from './redis.target';
import { renderKey, validateKeyTemplate } from './redis-values';
import { describeTargetContract } from '../test-kit/target.contract';
import { TargetTableSpec } from '@tributary/model';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Deletes every key under a test's prefix (Redis is shared with other tests). */
async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

for (const format of ['json', 'hash'] as const) {
  describeTargetContract(
    `redis (${format})`,
    async () => {
      const prefix = `trib-test:${randomUUID()}:`;
      const target = new RedisTarget({ kind: 'redis', url: REDIS_URL, options: { prefix, format } });
      return {
        target,
        async teardown() {
          await target.close();
          await dropPrefix(prefix);
        },
        unreachable: (password) => new RedisTarget({ kind: 'redis', url: `redis://:${password}@127.0.0.1:1/0`, options: { connectTimeoutMs: 500 } }),
      };
    },
    // Stored rows keep the field names they were written with (see RedisTarget.ensureTable).
    { refusesRows: false, rowsFollowSteps: false, detectsConflicts: redisTargetFactory.detectsConflicts, versionsPerSource: redisTargetFactory.versionsPerSource },
  );
}

describe('RedisTarget specifics', () => {
  const table: TargetTableSpec = {
    name: 'items',
    columns: [
      { name: 'a', type: 'string', dataType: 'varchar', columnType: 'varchar(10)', nullable: false, unsigned: false, length: 10, precision: null, scale: null, fsp: null, members: null },
      { name: 'b', type: 'int', dataType: 'int', columnType: 'int(11)', nullable: false, unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null },
    ],
    key: ['a', 'b'],
  };

  it('renders {pk} with ":" and "\\" escaped, so distinct keys never collide', () => {
    expect(renderKey('p:', '{table}:{pk}', table, { a: 'x:y', b: 1 })).toBe('p:items:x\\:y:1');
    expect(renderKey('', 'row/{pk}@{table}', table, { a: 'a\\', b: 2 })).toBe('row/a\\\\:2@items');
    expect(renderKey('', '{table}:{pk}', table, { a: 'a:b', b: 3 })).not.toBe(renderKey('', '{table}:{pk}', { ...table, key: ['a'] }, { a: 'a:b:3' }));
  });

  it('validates the key template and options', () => {
    expect(() => validateKeyTemplate('{table}:{id}')).toThrow(/unknown placeholder \{id\}/);
    expect(() => validateKeyTemplate('{table}')).toThrow(/must contain \{pk\}/);
    expect(() => validateKeyTemplate('{table}:{pk')).toThrow(TargetConfigError);
    expect(() => new RedisTarget({ kind: 'redis', url: REDIS_URL, options: { format: 'xml' } })).toThrow(/format has an invalid value/);
    expect(() => new RedisTarget({ kind: 'redis', url: 'http://x/0' })).toThrow(TargetConfigError);
  });

  it('stores a row under its key, as JSON text with binary in base64', async () => {
    const prefix = `trib-test:${randomUUID()}:`;
    const target = new RedisTarget({ kind: 'redis', url: REDIS_URL, options: { prefix } });
    const redis = new Redis(REDIS_URL);
    try {
      const spec: TargetTableSpec = { ...table, columns: [...table.columns, { ...table.columns[1], name: 'bin', type: 'binary', nullable: true }] };
      await target.ensureTable(spec);
      await target.apply(
        { routeId: 'r', table: spec, watermark: 1, origin: 'x', changes: [{ seq: 1, op: 'insert', key: { a: 'k', b: 1 }, before: null, after: { a: 'k', b: 1, bin: Buffer.from([0, 255]) } }] },
        { recordRejected: async () => undefined },
      );
      expect(JSON.parse(String(await redis.get(`${prefix}items:k:1`)))).toEqual({ a: 'k', b: '1', bin: 'AP8=' });
      expect(await redis.hget(`${prefix}_tributary:rows:items`, `${prefix}items:k:1`)).toBe('1');
    } finally {
      await target.close();
      redis.disconnect();
      await dropPrefix(prefix);
    }
  });
});

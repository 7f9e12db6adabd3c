import { inspect } from 'node:util';
import { TargetConfigError, TargetNotReadableError, TransientTargetError } from '../errors';
import { HttpTarget, httpTargetFactory } from './http.target';
import { HttpTestReceiver } from '../test-kit/http-test-receiver';
import { describeTargetContract } from '../test-kit/target.contract';
import { ApplyBatch, RejectedChange } from '../target';
import { TargetTableSpec } from '@tributary/model';

const SECRET = 'contract-secret-do-not-log';

describeTargetContract(
  'http',
  async () => {
    const receiver = new HttpTestReceiver(SECRET);
    const { url, readUrl } = await receiver.start();
    const target = new HttpTarget({ kind: 'http', url, options: { secret: SECRET, readUrl, timeoutMs: 5000 } });
    return {
      target,
      async teardown() {
        await target.close();
        await receiver.stop();
      },
    };
  },
  // A webhook has delivered the accepted changes before a failing dead-letter hook: nothing to roll back.
  // The receiver keeps the rows it holds as they were written: a rename or drop reaches only new writes.
  {
    rollsBackOnHookFailure: false,
    rowsFollowSteps: false,
    detectsConflicts: httpTargetFactory(null).detectsConflicts,
    versionsPerSource: httpTargetFactory(null).versionsPerSource,
  },
);

describe('HttpTarget outbound hosts (HTTP_TARGET_HOSTS)', () => {
  const make = (url: string, hosts: string[] | null, readUrl?: string) =>
    new HttpTarget({ kind: 'http', url, options: { secret: 'hook-secret', ...(readUrl ? { readUrl } : {}) } }, hosts);

  it('calls only listed hosts, by name or by name and port, url and readUrl alike', () => {
    expect(() => make('https://hooks.example.com/in', ['hooks.example.com'])).not.toThrow();
    expect(() => make('http://127.0.0.1:8080/in', ['127.0.0.1:8080'])).not.toThrow();
    expect(() => make('https://HOOKS.example.com:443/in', ['hooks.example.com:443'])).not.toThrow();
    expect(() => make('http://169.254.169.254/latest/meta-data', ['hooks.example.com'])).toThrow(/the url's host 169\.254\.169\.254 is not among HTTP_TARGET_HOSTS \(hooks\.example\.com\)/);
    expect(() => make('http://127.0.0.1:9090/in', ['127.0.0.1:8080'])).toThrow(TargetConfigError);
    expect(() => make('https://hooks.example.com/in', ['hooks.example.com'], 'http://10.0.0.5/rows')).toThrow(/the readUrl's host 10\.0\.0\.5 is not among/);
    expect(() => make('https://anything.example/in', null)).not.toThrow();
  });
});

describe('HttpTarget specifics', () => {
  const table: TargetTableSpec = {
    name: 'items',
    columns: [
      { name: 'id', type: 'int', dataType: 'int', columnType: 'int(11)', nullable: false, unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null },
      { name: 'b', type: 'binary', dataType: 'blob', columnType: 'blob', nullable: true, unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null },
    ],
    key: ['id'],
  };
  const batch = (seq: number): ApplyBatch => ({
    routeId: 'r1',
    table,
    watermark: seq,
    origin: 'x',
    changes: [{ seq, op: 'insert', key: { id: seq }, before: null, after: { id: seq, b: Buffer.from([seq, 255]) } }],
  });
  const hooks = { recordRejected: async (rejected: RejectedChange[]) => void rejected };
  let receiver: HttpTestReceiver;
  let url: string;
  let readUrl: string;

  beforeEach(async () => {
    receiver = new HttpTestReceiver(SECRET);
    ({ url, readUrl } = await receiver.start());
  });
  afterEach(() => receiver.stop());

  it('is refused (401) with a wrong secret: a transient error that names no secret, and nothing applied', async () => {
    const wrong = new HttpTarget({ kind: 'http', url, options: { secret: 'wrong-secret', readUrl, retries: 1 } });
    const error = await wrong.apply(batch(1), hooks).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientTargetError);
    expect((error as TransientTargetError).code).toBe('401');
    expect(inspect(error, { depth: 6 })).not.toContain('wrong-secret');
    const right = new HttpTarget({ kind: 'http', url, options: { secret: SECRET, readUrl } });
    await right.ensureTable(table);
    expect(await right.readRows(table)).toEqual([]);
  });

  it('retries 5xx with backoff, then delivers once, with idempotency keys and binary as base64', async () => {
    const target = new HttpTarget({ kind: 'http', url, options: { secret: SECRET, readUrl } });
    await target.ensureTable(table);
    receiver.scripted.push(503, 502);
    expect(await target.apply(batch(7), hooks)).toEqual({ applied: 1, skipped: 0, rejected: [] });
    expect(receiver.received).toEqual([{ idempotencyKey: expect.stringMatching(/^r1:7-7:[0-9a-f]{16}$/), changes: 1 }]);
    expect(await target.readRows(table)).toEqual([{ id: 7, b: Buffer.from([7, 255]) }]);
  });

  it('fails as transient when retries are used up or the receiver is down', async () => {
    const target = new HttpTarget({ kind: 'http', url, options: { secret: SECRET, retries: 1 } });
    receiver.scripted.push(500, 500);
    await expect(target.apply(batch(1), hooks)).rejects.toBeInstanceOf(TransientTargetError);
    const down = new HttpTarget({ kind: 'http', url: 'http://user:pa55word@127.0.0.1:1/hook', options: { secret: SECRET, retries: 0 } });
    for (const attempt of [() => down.ping(), () => down.apply(batch(1), hooks)]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientTargetError);
      expect(inspect(error, { depth: 6 })).not.toMatch(/pa55word|contract-secret/);
    }
  });

  it('without a readUrl, refuses every read with TargetNotReadableError: it cannot be verified', async () => {
    const target = new HttpTarget({ kind: 'http', url, options: { secret: SECRET } });
    await target.ensureTable(table);
    for (const attempt of [() => target.readRows(table), () => target.readRowsByKeys(table, [{ id: 1 }]), () => target.scanRows(table, null, 10)]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TargetNotReadableError);
      expect(error).toBeInstanceOf(TargetConfigError); // retrying cannot help
      expect((error as Error).message).toMatch(/cannot be read back .*cannot be verified/);
    }
  });

  it('validates its options, and requires a secret', () => {
    expect(() => new HttpTarget({ kind: 'http', url })).toThrow(/secret .* is required/);
    expect(() => new HttpTarget({ kind: 'http', url: 'ftp://x', options: { secret: 's' } })).toThrow(TargetConfigError);
    expect(() => new HttpTarget({ kind: 'http', url, options: { secret: 's', headers: { 'X-Tributary-Signature': 'x' } } })).toThrow(/set by Tributary/);
    expect(() => new HttpTarget({ kind: 'http', url, options: { secret: 's', nope: 1 } })).toThrow(/unknown option nope/);
  });
});

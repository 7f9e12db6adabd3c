import { INestApplication } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { AddressInfo } from 'node:net';
import { CatalogRepository, ConflictDecisionInput, ConflictFilter, ConflictRecord, ConflictRepository, RouteRecord } from '@tributary/control';
import { LOGGER, createLogger } from '@tributary/logger';
import { CHANGE_JOB_NAME, ResolutionJobData, QueueRegistry } from '@tributary/queue';
import { ErrorFilter } from '../http/error.filter';
import { createValidationPipe } from '../http/validation';
import { ConflictsController } from './conflicts.controller';
import { ConflictsService } from './conflicts.service';
import { ResolutionEnqueuer } from './resolution-enqueuer';

const ROUTE: RouteRecord = { id: 'orders-pg', sourceId: 'shop', table: 'orders', targetId: 'pg', targetTable: 'orders', enabled: true };

/** The parts of ConflictRepository the admin uses, in memory, with the same status rules. */
class FakeConflicts {
  records: ConflictRecord[] = [];

  add(seq: number, overrides: Partial<ConflictRecord> = {}): ConflictRecord {
    const key = overrides.keyText ?? '[1]';
    const record: ConflictRecord = {
      id: this.records.length + 1,
      routeId: ROUTE.id,
      seq,
      table: 'orders',
      op: 'update',
      kind: 'mismatch',
      keyText: key,
      keyHash: `h${key}`,
      policy: 'manual',
      decision: 'parked',
      reason: 'target row differs from the before image',
      incomingBefore: { id: 1, qty: 1, note: null },
      incomingAfter: { id: 1, qty: seq, note: null },
      targetRow: { id: 1, qty: 7, note: 'local' },
      resultRow: null,
      change: { seq, table: 'orders', op: 'update', pk: '{"id":1}', before: '{"id":1,"qty":1}', after: `{"id":1,"qty":${seq}}`, origin: null, ts: 1, schema: 'h' },
      status: 'open',
      resolvedBy: null,
      resolvedAt: null,
      resolution: null,
      resolutionRow: null,
      createdAt: new Date('2024-05-01T10:00:00Z'),
      ...overrides,
    };
    this.records.push(record);
    return record;
  }

  async get(id: number) {
    return this.records.find((r) => r.id === id) ?? null;
  }

  async list(routeId: string, options: { status?: ConflictFilter; decision?: string; kind?: string; limit?: number; beforeId?: number }) {
    return this.records
      .filter((r) => r.routeId === routeId && (options.status === undefined || options.status === 'all' || r.status === options.status))
      .filter((r) => (options.decision === undefined || r.decision === options.decision) && (options.kind === undefined || r.kind === options.kind))
      .filter((r) => options.beforeId === undefined || r.id < options.beforeId)
      .sort((a, b) => b.id - a.id)
      .slice(0, options.limit ?? 100);
  }

  async openForKey(routeId: string, keyHash: string) {
    return this.records.filter((r) => r.routeId === routeId && r.keyHash === keyHash && r.status === 'open').sort((a, b) => a.seq - b.seq);
  }

  async claimForResolution(ids: readonly number[], decision: ConflictDecisionInput) {
    const open = this.records.filter((r) => ids.includes(r.id) && r.status === 'open').sort((a, b) => a.seq - b.seq);
    for (const r of open) Object.assign(r, { status: 'resolving', resolvedBy: decision.actor, resolvedAt: new Date(), resolution: decision.action, resolutionRow: decision.row });
    return open.map((r) => ({ ...r }));
  }

  async releaseClaim(ids: readonly number[]) {
    for (const r of this.records.filter((r) => ids.includes(r.id) && r.status === 'resolving')) {
      Object.assign(r, { status: 'open', resolvedBy: null, resolvedAt: null, resolution: null, resolutionRow: null });
    }
  }

  async resolve(ids: readonly number[], decision: ConflictDecisionInput & { from?: string[] }) {
    const from = decision.from ?? ['open', 'resolving'];
    const taken = this.records.filter((r) => ids.includes(r.id) && from.includes(r.status));
    for (const r of taken) Object.assign(r, { status: 'resolved', resolvedBy: decision.actor, resolvedAt: new Date(), resolution: decision.action, resolutionRow: decision.row });
    return taken.map((r) => ({ ...r }));
  }
}

describe('conflicts API', () => {
  let app: INestApplication;
  let base: string;
  const conflicts = new FakeConflicts();
  const add = jest.fn();

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [ConflictsController],
      providers: [
        ConflictsService,
        ResolutionEnqueuer,
        { provide: LOGGER, useValue: createLogger('silent') },
        { provide: CatalogRepository, useValue: { getRoute: async (id: string) => (id === ROUTE.id ? ROUTE : null) } },
        { provide: ConflictRepository, useValue: conflicts },
        { provide: QueueRegistry, useValue: { queueFor: () => ({ add }) } },
        { provide: APP_FILTER, useClass: ErrorFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => {
    conflicts.records = [];
    // A test may stub a method on the instance: back to the class's.
    delete (conflicts as Partial<FakeConflicts>).claimForResolution;
    add.mockReset();
    add.mockResolvedValue({});
  });

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  it('documents the endpoints (OpenAPI)', () => {
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().build());
    expect(Object.keys(document.paths).sort()).toEqual(['/api/conflicts/{id}', '/api/conflicts/{id}/resolve', '/api/routes/{routeId}/conflicts']);
    expect(Object.keys(document.paths['/api/conflicts/{id}/resolve'].post?.responses ?? {}).sort()).toEqual(['200', '202', '400', '404', '409']);
    expect(document.components?.schemas?.ConflictDto).toBeDefined();
  });

  describe('GET /api/routes/:routeId/conflicts', () => {
    it('lists newest first with the DTO shape, every status by default', async () => {
      conflicts.add(1, { decision: 'applied', policy: 'source-wins', status: 'resolved', resultRow: { id: 1, qty: 1 } });
      conflicts.add(2, { keyText: '["a",2]' });
      const reply = await call('GET', `/api/routes/${ROUTE.id}/conflicts`);
      expect(reply.status).toBe(200);
      expect(reply.body.map((c: { seq: number }) => c.seq)).toEqual([2, 1]);
      expect(reply.body[0]).toEqual({
        id: 2,
        routeId: ROUTE.id,
        seq: 2,
        table: 'orders',
        op: 'update',
        kind: 'mismatch',
        key: ['a', 2],
        policy: 'manual',
        decision: 'parked',
        reason: 'target row differs from the before image',
        incoming: { before: { id: 1, qty: 1, note: null }, after: { id: 1, qty: 2, note: null } },
        target: { id: 1, qty: 7, note: 'local' },
        result: null,
        status: 'open',
        resolvedBy: null,
        resolvedAt: null,
        resolution: null,
        resolutionRow: null,
        createdAt: '2024-05-01T10:00:00.000Z',
      });
      expect(reply.body[1]).toMatchObject({ decision: 'applied', status: 'resolved', result: { id: 1, qty: 1 } });
    });

    it('filters and pages (query values converted)', async () => {
      for (let seq = 1; seq <= 5; seq++) conflicts.add(seq, seq % 2 ? {} : { status: 'resolved', decision: 'kept', kind: 'missing' });
      const open = await call('GET', `/api/routes/${ROUTE.id}/conflicts?status=open&limit=2&beforeId=5`);
      expect(open.body.map((c: { seq: number }) => c.seq)).toEqual([3, 1]);
      const kept = await call('GET', `/api/routes/${ROUTE.id}/conflicts?decision=kept&kind=missing`);
      expect(kept.body.map((c: { seq: number }) => c.seq)).toEqual([4, 2]);
    });

    it('refuses bad filters (400) and an unknown route (404)', async () => {
      expect((await call('GET', `/api/routes/${ROUTE.id}/conflicts?status=parked`)).status).toBe(400);
      expect((await call('GET', `/api/routes/${ROUTE.id}/conflicts?limit=1001`)).status).toBe(400);
      expect((await call('GET', `/api/routes/${ROUTE.id}/conflicts?kind=other`)).status).toBe(400);
      expect((await call('GET', `/api/routes/${ROUTE.id}/conflicts?decision=maybe`)).status).toBe(400);
      const missing = await call('GET', '/api/routes/nope/conflicts');
      expect(missing.status).toBe(404);
      expect(missing.body.message).toBe('route nope does not exist');
    });
  });

  describe('GET /api/conflicts/:id', () => {
    it('returns one, or 404', async () => {
      conflicts.add(9);
      expect(await call('GET', '/api/conflicts/1')).toMatchObject({ status: 200, body: { id: 1, seq: 9, key: [1] } });
      expect((await call('GET', '/api/conflicts/2')).status).toBe(404);
      expect((await call('GET', '/api/conflicts/abc')).status).toBe(400);
    });
  });

  describe('POST /api/conflicts/:id/resolve', () => {
    it('keep-target resolves every open conflict of the key at once (200, no job)', async () => {
      conflicts.add(1);
      conflicts.add(2);
      conflicts.add(3, { keyText: '[2]' });
      const reply = await call('POST', '/api/conflicts/2/resolve', { action: 'keep-target', actor: 'alice' });
      expect(reply.status).toBe(200);
      expect(reply.body.map((c: { id: number }) => c.id)).toEqual([1, 2]);
      expect(reply.body[0]).toMatchObject({ status: 'resolved', resolvedBy: 'alice', resolution: 'keep-target', resolutionRow: null });
      expect(typeof reply.body[0].resolvedAt).toBe('string');
      expect(conflicts.records[2].status).toBe('open');
      expect(add).not.toHaveBeenCalled();
    });

    it('apply-source claims the key and queues one job with its latest parked change (202)', async () => {
      conflicts.add(10);
      conflicts.add(12);
      conflicts.add(11);
      const reply = await call('POST', '/api/conflicts/1/resolve', { action: 'apply-source', actor: 'bob' });
      expect(reply.status).toBe(202);
      expect(reply.body.map((c: { seq: number }) => c.seq)).toEqual([10, 11, 12]);
      expect(reply.body.every((c: { status: string; resolvedBy: string }) => c.status === 'resolving' && c.resolvedBy === 'bob')).toBe(true);
      expect(add).toHaveBeenCalledTimes(1);
      const [name, data, options] = add.mock.calls[0] as [string, ResolutionJobData, { jobId: string }];
      expect(name).toBe(CHANGE_JOB_NAME);
      expect(data).toEqual({
        v: 2,
        kind: 'resolution',
        sourceId: 'shop',
        routeId: ROUTE.id,
        table: 'orders',
        changes: [conflicts.records[1].change],
        resolution: { conflictIds: [1, 3, 2], action: 'apply-source', row: null, actor: 'bob' },
      });
      expect(options.jobId).toMatch(/^resolve-\d+-[0-9a-f]+$/);
      expect(options.jobId).not.toContain(':');
    });

    it('merge carries the row; the job id is unique per decision', async () => {
      conflicts.add(1);
      const reply = await call('POST', '/api/conflicts/1/resolve', { action: 'merge', actor: 'carol', row: { id: 1, qty: 5, note: null } });
      expect(reply.status).toBe(202);
      expect(reply.body[0]).toMatchObject({ status: 'resolving', resolution: 'merge', resolutionRow: { id: 1, qty: 5, note: null } });
      const data = add.mock.calls[0][1] as ResolutionJobData;
      expect(data.resolution).toEqual({ conflictIds: [1], action: 'merge', row: { id: 1, qty: 5, note: null }, actor: 'carol' });

      conflicts.add(2, { keyText: '[2]' });
      await call('POST', '/api/conflicts/2/resolve', { action: 'merge', actor: 'carol', row: { id: 2 } });
      expect(add.mock.calls[1][2].jobId).not.toBe(add.mock.calls[0][2].jobId);
    });

    it('refuses a bad body (400)', async () => {
      conflicts.add(1);
      const cases: unknown[] = [
        { action: 'merge', actor: 'a' },
        { action: 'merge', actor: 'a', row: {} },
        { action: 'apply-source', actor: 'a', row: { id: 1 } },
        { action: 'keep-target', actor: 'a', row: { id: 1 } },
        { action: 'keep-target' },
        { action: 'keep-target', actor: '' },
        { action: 'overwrite', actor: 'a' },
        { action: 'merge', actor: 'a', row: 'text' },
        { action: 'keep-target', actor: 'a', extra: 1 },
      ];
      for (const body of cases) {
        const reply = await call('POST', '/api/conflicts/1/resolve', body);
        expect({ body, status: reply.status }).toEqual({ body, status: 400 });
      }
      expect(conflicts.records[0].status).toBe('open');
      expect(add).not.toHaveBeenCalled();
    });

    it('answers 404 for an unknown conflict and 409 unless it is open', async () => {
      conflicts.add(1, { status: 'resolved', decision: 'applied', policy: 'source-wins' });
      conflicts.add(2, { status: 'resolving', resolution: 'merge', resolvedBy: 'dave', keyText: '[2]' });
      conflicts.add(3, { keyText: '[3]' });
      expect((await call('POST', '/api/conflicts/99/resolve', { action: 'keep-target', actor: 'a' })).status).toBe(404);
      const automatic = await call('POST', '/api/conflicts/1/resolve', { action: 'keep-target', actor: 'a' });
      expect(automatic.status).toBe(409);
      expect(automatic.body.message).toMatch(/resolved by the route's policy/);
      const inFlight = await call('POST', '/api/conflicts/2/resolve', { action: 'apply-source', actor: 'a' });
      expect(inFlight.status).toBe(409);
      expect(inFlight.body.message).toMatch(/in flight \(merge by dave\)/);
      expect((await call('POST', '/api/conflicts/3/resolve', { action: 'keep-target', actor: 'a' })).status).toBe(200);
      expect((await call('POST', '/api/conflicts/3/resolve', { action: 'keep-target', actor: 'a' })).status).toBe(409);
      expect(add).not.toHaveBeenCalled();
    });

    it('answers 409 when someone else claimed the key between the read and the claim', async () => {
      conflicts.add(1);
      const claim = conflicts.claimForResolution.bind(conflicts);
      conflicts.claimForResolution = async (ids, decision) => {
        await claim(ids, { actor: 'other', action: 'apply-source', row: null });
        return claim(ids, decision);
      };
      expect((await call('POST', '/api/conflicts/1/resolve', { action: 'apply-source', actor: 'a' })).status).toBe(409);
      expect(add).not.toHaveBeenCalled();
    });

    it('releases the claim when the job cannot be queued, and answers the error', async () => {
      conflicts.add(1);
      conflicts.add(2);
      add.mockRejectedValue(new Error('Connection is closed.'));
      const reply = await call('POST', '/api/conflicts/1/resolve', { action: 'apply-source', actor: 'a' });
      expect(reply.status).toBe(500);
      expect(conflicts.records.map((r) => [r.status, r.resolvedBy, r.resolution])).toEqual([
        ['open', null, null],
        ['open', null, null],
      ]);
    });
  });
});

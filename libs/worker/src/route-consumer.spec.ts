import { DelayedError, Job } from 'bullmq';
import { RouteRecord, TargetRecord } from '@tributary/control';
import { createLogger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { RouteSelector, TableSchema, WireChange } from '@tributary/model';
import { RouteQueuedJobData, RangeJobData, SeqRange } from '@tributary/queue';
import { column } from '@tributary/testing/fixtures';
import { ApplyBatch, ApplyResult, Target } from '@tributary/targets';
import { RouteConsumer, RouteConsumerDeps } from './route-consumer';
import { TableHistory } from './table-history';

/**
 * RouteConsumer with everything around it faked (no database, no Redis): an
 * in-memory outbox, a target that records what it is given, progress and
 * dead letters as spies. What it must do for a route: apply a range job's
 * changes above the target's checkpoint with the job's watermark, never
 * apply a paused route's job, put a failed job back with growing backoff
 * (saying why), and apply the route's jobs one at a time.
 */

const schema: TableSchema = { table: 'items', columns: [column('id', 'int'), column('name')], key: ['id'], keyKind: 'primary', hash: 'h1' };
const route: RouteRecord = { id: 'items-pg', sourceId: 'shop', table: 'items', targetId: 'pg', targetTable: 'items', enabled: true };
const targetRecord: TargetRecord = { id: 'pg', kind: 'postgres', url: 'postgres://nowhere/x', options: {} };

const insert = (seq: number, id: number): WireChange => ({
  seq,
  table: 'items',
  op: 'insert',
  pk: JSON.stringify({ id }),
  before: null,
  after: JSON.stringify({ id, name: `n${id}` }),
  origin: null,
  ts: 1_700_000_000_000_000,
  schema: 'h1',
});

/** A target that keeps what it is given, and fails the next `failures` applies. */
class FakeTarget {
  readonly applied: ApplyBatch[] = [];
  checkpoint = 0;
  failures = 0;
  /** When set, an apply waits for it (to see two jobs overlap, or not). */
  gate: Promise<void> | null = null;
  active = 0;
  maxActive = 0;

  async ensureTable(): Promise<void> {}

  async readCheckpoint() {
    return { routeId: route.id, watermark: this.checkpoint };
  }

  async apply(batch: ApplyBatch): Promise<ApplyResult> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.gate) await this.gate;
      if (this.failures > 0) {
        this.failures--;
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      }
      this.applied.push(batch);
      if (batch.watermark > 0) this.checkpoint = Math.max(this.checkpoint, batch.watermark);
      return { applied: batch.changes.length, skipped: 0, rejected: [] };
    } finally {
      this.active--;
    }
  }
}

/** The outbox of one table: what a range read of the route returns. */
function fakeOutbox(rows: WireChange[]) {
  return {
    async readRouteChanges(_route: RouteSelector, ranges: readonly SeqRange[], afterSeq: number, limit: number): Promise<WireChange[]> {
      return rows.filter((row) => row.seq > afterSeq && ranges.some((r) => row.seq >= r.from && row.seq <= r.to)).slice(0, limit);
    },
  };
}

function fakeJob(data: RouteQueuedJobData, id = 'job-1') {
  const delayedTo: number[] = [];
  const job = {
    id,
    data,
    async moveToDelayed(timestamp: number) {
      delayedTo.push(timestamp);
    },
  };
  return { job: job as unknown as Job<RouteQueuedJobData>, delayedTo };
}

const rangeJob = (ranges: SeqRange[], watermark: number): RangeJobData => ({ v: 2, kind: 'range', sourceId: 'shop', routeId: route.id, table: 'items', ranges, watermark });

function setup(rows: WireChange[], over: Partial<RouteRecord> = {}, history = new TableHistory([])) {
  const target = new FakeTarget();
  const progress = { recordApplied: jest.fn(async () => undefined), recordRouteError: jest.fn(async () => undefined) };
  const deadLetters = { record: jest.fn(async () => undefined), resolveRetried: jest.fn(async () => undefined) };
  const metrics = new Metrics();
  const deps = {
    schemas: { load: async () => () => schema, history: async () => history },
    targets: { get: async () => target as unknown as Target },
    outboxes: { get: () => fakeOutbox(rows) },
    progress,
    deadLetters,
    conflicts: {},
    resolvers: {},
    metrics,
    batchRows: 1000,
    batchBytes: 1 << 20,
    logger: createLogger('silent'),
    retryMinMs: 100,
    retryMaxMs: 1000,
  } as unknown as RouteConsumerDeps;
  const consumer = new RouteConsumer({ ...route, ...over }, targetRecord, deps);
  return { consumer, target, progress, deadLetters, metrics };
}

describe('RouteConsumer', () => {
  it("applies a range job's changes above the target's checkpoint, decoded, with the job's watermark, and mirrors the progress", async () => {
    const { consumer, target, progress } = setup([insert(3, 1), insert(5, 2), insert(8, 3)]);
    target.checkpoint = 3; // seq 3 is at the target already
    await consumer.process(fakeJob(rangeJob([{ from: 1, to: 9 }], 9)).job, 'token');
    await consumer.close();
    expect(target.applied).toHaveLength(1);
    expect(target.applied[0].changes.map((c) => [c.seq, c.after])).toEqual([
      [5, { id: 2, name: 'n2' }],
      [8, { id: 3, name: 'n3' }],
    ]);
    expect(target.applied[0]).toMatchObject({ routeId: route.id, watermark: 9, table: { name: 'items', key: ['id'] } });
    expect(progress.recordApplied).toHaveBeenCalledWith(route.id, expect.objectContaining({ watermark: 9, count: 2 }));
  });

  it("puts a paused route's job back delayed without touching the target", async () => {
    const { consumer, target } = setup([insert(1, 1)], { enabled: false });
    const { job, delayedTo } = fakeJob(rangeJob([{ from: 1, to: 1 }], 1));
    const before = Date.now();
    await expect(consumer.process(job, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(delayedTo).toHaveLength(1);
    expect(delayedTo[0]).toBeGreaterThanOrEqual(before + 1000);
    expect(target.applied).toEqual([]);
  });

  it('puts a failed job back with growing backoff, records why, and starts again from the shortest wait once one succeeds', async () => {
    const { consumer, target, progress, metrics } = setup([insert(1, 1), insert(2, 2)]);
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000); // the waits, exactly
    try {
      target.failures = 3;
      const waits: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const { job, delayedTo } = fakeJob(rangeJob([{ from: 1, to: 1 }], 1));
        await expect(consumer.process(job, 'token')).rejects.toBeInstanceOf(DelayedError);
        waits.push(delayedTo[0] - 1_000_000);
      }
      expect(waits).toEqual([100, 200, 400]);
      expect(progress.recordRouteError).toHaveBeenLastCalledWith(route.id, expect.stringMatching(/ECONNREFUSED/));
      expect(await metrics.registry.getSingleMetricAsString('tributary_retries_total')).toContain(`route="${route.id}"} 3`);

      await consumer.process(fakeJob(rangeJob([{ from: 1, to: 1 }], 1)).job, 'token');
      expect(target.applied).toHaveLength(1);
      target.failures = 1;
      const { job, delayedTo } = fakeJob(rangeJob([{ from: 2, to: 2 }], 2));
      await expect(consumer.process(job, 'token')).rejects.toBeInstanceOf(DelayedError);
      expect(delayedTo[0] - 1_000_000).toBe(100);
    } finally {
      now.mockRestore();
    }
  });

  it('keeps a retried change from before its target table renamed or dropped columns a dead letter, saying why, instead of writing the old shape', async () => {
    const renamed = new TableHistory([
      { id: 5, sourceId: 'shop', table: 'items', fromHash: 'h1', toHash: 'h2', renames: [{ from: 'name', to: 'title' }], routeSteps: { [route.id]: { dropped: [], renamed: [{ from: 'name', to: 'title' }] } } },
    ]);
    const { consumer, target, deadLetters } = setup([], {}, renamed);
    const retry: RouteQueuedJobData = { v: 2, kind: 'retry', sourceId: 'shop', routeId: route.id, table: 'items', changes: [insert(4, 4)], retryOf: [17] };
    await consumer.process(fakeJob(retry).job, 'token');
    await consumer.close();
    expect(target.applied.flatMap((batch) => batch.changes)).toEqual([]);
    expect(deadLetters.record).toHaveBeenCalledWith([expect.objectContaining({ seq: 4, reason: expect.stringMatching(/renamed or dropped columns of items; re-sync the route/) })]);
  });

  it("applies a route's jobs one at a time, in the order they were handed over", async () => {
    const { consumer, target } = setup([insert(1, 1), insert(2, 2)]);
    let open!: () => void;
    target.gate = new Promise<void>((resolve) => (open = resolve));
    const first = consumer.process(fakeJob(rangeJob([{ from: 1, to: 1 }], 1), 'a').job, 'token');
    const second = consumer.process(fakeJob(rangeJob([{ from: 2, to: 2 }], 2), 'b').job, 'token');
    await new Promise((resolve) => setImmediate(resolve));
    open();
    await Promise.all([first, second]);
    expect(target.maxActive).toBe(1);
    expect(target.applied.map((batch) => batch.watermark)).toEqual([1, 2]);
  });
});

import { createConnection } from 'mysql2/promise';
import { PostgresTarget } from '@tributary/targets';
import { AppProcess, createPipeline, ITEMS_DDL, Pipeline, sleep, waitFor } from '@tributary/testing';

/**
 * A planned restart (a deploy replacing each process in turn) must not stall
 * replication: a worker stopped with SIGTERM finishes the batch it holds and
 * lets its jobs go, a relay releases its leadership for the standby. Before,
 * a stopped worker left its job locked until BullMQ's lock expired (~15 s).
 * The bound below is a liveness check far above what is measured (~0.1 s),
 * not a speed figure.
 */
const STALL_BOUND_MS = 5_000;

describe('a rolling restart of every relay and worker under writes', () => {
  let pipeline: Pipeline;
  let pg: PostgresTarget;

  beforeAll(async () => {
    pipeline = await createPipeline();
    await pipeline.source.knex.raw(ITEMS_DDL);
    await pipeline.setup.addSource('src', pipeline.source.url);
    await pipeline.setup.captureTable('src', 'items');
    await pipeline.setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    await pipeline.setup.routes.create({ id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg' });
    pg = new PostgresTarget({ kind: 'postgres', url: pipeline.postgres.url });
  });

  afterAll(async () => {
    await pg?.close();
    await pipeline?.teardown();
  });

  it('keeps the route moving while each process is replaced in turn, every one exits cleanly, and the target ends equal', async () => {
    // Info logs: each process says when it has started. A process stopped while still loading its code
    // has no handler yet and dies by the signal; the rolling restart begins once all four run.
    const start = (app: 'relay' | 'worker') => pipeline.start(app, { LOG_LEVEL: 'info' });
    const relays: AppProcess[] = [start('relay'), start('relay')];
    const workers: AppProcess[] = [start('worker'), start('worker')];
    await waitFor(async () => [...relays, ...workers].every((app) => app.output().includes(`${app.name} started`)), {
      timeoutMs: 60_000,
      what: 'all four processes to start',
    });
    const writer = await createConnection({ uri: pipeline.source.url });
    let writing = true;
    let id = 0;
    const writes = (async () => {
      while (writing) {
        id += 1;
        await writer.query('INSERT INTO items (id, grp, name) VALUES (?, ?, ?)', [id, id % 5, `row ${id}`]);
        if (id % 3 === 0) await writer.query("UPDATE items SET name = CONCAT(name, '+') WHERE id = ?", [id - 1]);
        await sleep(10);
      }
    })();
    await pipeline.waitForCatchUp('items-pg');

    // The longest time the route's durable watermark stood still while the outbox held newer changes.
    let longestStall = 0;
    let lastWatermark = -1;
    let movedAt = Date.now();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [[outbox]] = (await pipeline.source.knex.raw('SELECT MAX(seq) AS seq FROM _tributary_outbox')) as [Array<{ seq: number }>];
        const checkpoint = await pg.readCheckpoint('items-pg');
        const watermark = checkpoint?.watermark ?? 0;
        const now = Date.now();
        if (watermark !== lastWatermark) {
          lastWatermark = watermark;
          movedAt = now;
        } else if (Number(outbox.seq) > watermark) {
          longestStall = Math.max(longestStall, now - movedAt);
        }
        await sleep(50);
      }
    })();

    const exitCodes: Array<number | null> = [];
    const unclean: string[] = [];
    // Each worker, then each relay (one of them leads): stopped as a deploy stops it, replaced at once.
    for (const [list, app] of [
      [workers, 'worker'],
      [workers, 'worker'],
      [relays, 'relay'],
      [relays, 'relay'],
    ] as const) {
      await sleep(1500);
      const old = list.shift()!;
      const code = await old.kill('SIGTERM');
      exitCodes.push(code);
      // Why, if it did not exit cleanly: its signal and the end of its log.
      if (code !== 0) unclean.push(`${app}: exit ${code}, signal ${old.child.signalCode}\n${old.output().slice(-4000)}`);
      list.push(start(app));
    }
    await sleep(1500);
    writing = false;
    await writes;
    await writer.end();
    await pipeline.waitForCatchUp('items-pg');
    sampling = false;
    await sampler;

    expect({ exitCodes, unclean }).toEqual({ exitCodes: [0, 0, 0, 0], unclean: [] });
    expect(longestStall).toBeLessThan(STALL_BOUND_MS);
    const { source, target } = await pipeline.compare('items', pg, 'items');
    expect(source.length).toBe(id);
    expect(target).toEqual(source);
  }, 120_000);
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, createPipeline, freePort, Pipeline, waitFor } from '@tributary/testing';

type Json = Record<string, unknown>;
const TOKEN = randomBytes(24).toString('base64url').slice(0, 32);
const DDL = `CREATE TABLE acct (
  id INT NOT NULL PRIMARY KEY,
  balance INT NOT NULL,
  note VARCHAR(32) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/**
 * A person resolving parked conflicts over REST, and custom resolvers loaded
 * by the compiled worker from CONFLICT_RESOLVERS_DIR: the all-in-one app,
 * MariaDB source, PostgreSQL target.
 */
describe('conflict resolution end to end: manual over REST, custom resolvers in the built worker', () => {
  let pipeline: Pipeline;
  let base: string;
  let resolvers: string;

  const call = adminClient<Json & Json[]>(() => base, TOKEN);
  const pgRow = async (table: string, id: number) => pipeline.postgres.knex(table).where({ id }).first();
  const sql = (text: string) => pipeline.source.knex.raw(text);

  beforeAll(async () => {
    resolvers = mkdtempSync(join(tmpdir(), 'trib-resolvers-'));
    // Adds the source's change to the target's balance (both sides' deposits count); refuses a negative result.
    writeFileSync(
      join(resolvers, 'add-delta.js'),
      `module.exports = (c) => {
         const balance = c.target.balance + (c.incoming.after.balance - c.incoming.before.balance);
         if (balance < 0) throw new Error('balance would go negative: ' + balance);
         return { action: 'write', row: { ...c.target, balance }, reason: 'target balance plus the source delta' };
       };\n`,
    );
    pipeline = await createPipeline();
    await sql(DDL);
    await sql("INSERT INTO acct VALUES (1, 100, 'a'), (2, 200, 'b'), (3, 300, 'c')");
    await pipeline.setup.addSource('bank', pipeline.source.url);
    await pipeline.setup.captureTable('bank', 'acct');
    await pipeline.setup.addTarget({ id: 'pg', kind: 'postgres', url: pipeline.postgres.url, options: {} });
    await pipeline.setup.routes.create({ id: 'manual', sourceId: 'bank', table: 'acct', targetId: 'pg', targetTable: 'acct_manual', conflictPolicy: { resolution: 'manual' } });
    await pipeline.setup.routes.create({
      id: 'custom',
      sourceId: 'bank',
      table: 'acct',
      targetId: 'pg',
      targetTable: 'acct_custom',
      conflictPolicy: { resolution: 'custom', resolver: 'add-delta', detect: 'changed' },
    });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN, CONFLICT_RESOLVERS_DIR: resolvers });
    try {
      for (const route of ['manual', 'custom']) {
        await waitFor(async () => (await call('GET', `/api/routes/${route}/snapshot`)).json?.status === 'done', { timeoutMs: 60_000, what: `${route}'s initial copy` });
      }
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${pipeline.logs()}`);
    }
  }, 120_000);

  afterAll(async () => {
    await pipeline?.teardown();
    if (resolvers) rmSync(resolvers, { recursive: true, force: true });
  });

  it('parks a conflicting change and the later ones of its row, lets other rows through, and applies a merged row a person supplies', async () => {
    await pipeline.postgres.knex('acct_manual').where({ id: 1 }).update({ note: 'edited at the target' });
    await sql('UPDATE acct SET balance = 150 WHERE id = 1'); // conflicts: the target's row is not the before image
    await sql('UPDATE acct SET balance = 160 WHERE id = 1'); // parked behind it, to keep the row's order
    await sql('UPDATE acct SET balance = 250 WHERE id = 2'); // another row: goes through
    await pipeline.waitForCatchUp('manual');

    expect(await pgRow('acct_manual', 1)).toMatchObject({ balance: 100, note: 'edited at the target' });
    expect(await pgRow('acct_manual', 2)).toMatchObject({ balance: 250 });
    const open = await call('GET', '/api/routes/manual/conflicts?status=open');
    expect(open.status).toBe(200);
    expect(open.json).toHaveLength(2);
    const [latest, first] = open.json as Json[];
    expect(first).toMatchObject({ kind: 'mismatch', decision: 'parked', status: 'open', policy: 'manual', key: [1], target: { id: 1, balance: 100, note: 'edited at the target' } });
    expect((first.incoming as Json).after).toMatchObject({ balance: 150 });
    expect((latest.incoming as Json).after).toMatchObject({ balance: 160 });
    expect((await call('GET', '/api/status')).json.find((s: Json) => s.route === 'manual')).toMatchObject({ conflicts: { open: 2 } });
    // Alertable: the admin's /metrics carries the parked count and the decisions taken.
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return /^tributary_conflicts_open\{route="manual"\} 2$/m.test(text) && text;
      },
      { what: 'the parked count in /metrics' },
    );
    // Counted once each, even if the batch was retried.
    expect(metrics).toMatch(/^tributary_conflicts_total\{route="manual",decision="parked"\} 2$/m);

    // A bad decision is refused without touching anything.
    expect((await call('POST', `/api/conflicts/${first.id}/resolve`, { action: 'merge', actor: 'ops' })).status).toBe(400);
    const misspelt = await call('POST', `/api/conflicts/${first.id}/resolve`, { action: 'merge', row: { balanse: 1 }, actor: 'ops' });
    expect({ status: misspelt.status, text: misspelt.text }).toEqual({ status: 400, text: expect.stringContaining('unknown column balanse') });
    const resolved = await call('POST', `/api/conflicts/${first.id}/resolve`, { action: 'merge', row: { balance: 160, note: 'edited at the target' }, actor: 'ops' });
    expect(resolved.status).toBe(202);
    await waitFor(async () => (await pgRow('acct_manual', 1))?.balance === 160, { timeoutMs: 30_000, what: 'the merged row at the target' });
    expect(await pgRow('acct_manual', 1)).toMatchObject({ balance: 160, note: 'edited at the target' });
    // The worker marks the conflicts resolved after the target committed the row (two databases, so a
    // moment later): wait for that, not for the open list, which the claim emptied already.
    expect((await call('GET', '/api/routes/manual/conflicts?status=open')).json).toEqual([]);
    await waitFor(async () => (await call('GET', '/api/routes/manual/conflicts?status=resolving')).json.length === 0, { what: 'both conflicts resolved' });
    const done = await call('GET', `/api/conflicts/${first.id}`);
    expect(done.json).toMatchObject({ status: 'resolved', resolvedBy: 'ops', resolution: 'merge' });

    // The merged row still differs from the source (its note), so the row's next change conflicts again;
    // applying the source's change this time makes both sides equal, and changes flow again.
    await sql('UPDATE acct SET balance = 170 WHERE id = 1');
    await pipeline.waitForCatchUp('manual');
    const again = (await call('GET', '/api/routes/manual/conflicts?status=open')).json as Json[];
    expect(again).toHaveLength(1);
    expect((await call('POST', `/api/conflicts/${again[0].id}/resolve`, { action: 'apply-source', actor: 'ops' })).status).toBe(202);
    await waitFor(async () => (await pgRow('acct_manual', 1))?.balance === 170, { timeoutMs: 30_000, what: 'the source row at the target' });
    expect(await pgRow('acct_manual', 1)).toMatchObject({ balance: 170, note: 'a' });
    await sql('UPDATE acct SET balance = 180 WHERE id = 1');
    await pipeline.waitForCatchUp('manual');
    expect(await pgRow('acct_manual', 1)).toMatchObject({ balance: 180, note: 'a' });
    expect((await call('GET', '/api/routes/manual/conflicts?status=open')).json).toEqual([]);

    // A re-sync is an operator's "make the target equal the source": its copy records are never parked.
    await pipeline.postgres.knex('acct_manual').where({ id: 2 }).update({ note: 'drifted' });
    expect((await call('POST', '/api/routes/manual/resync', { actor: 'ops' })).status).toBe(202);
    await waitFor(async () => (await call('GET', '/api/routes/manual/snapshot')).json.status === 'done', { timeoutMs: 30_000, what: 're-sync done' });
    expect(await pgRow('acct_manual', 2)).toMatchObject({ balance: 250, note: 'b' });
    expect((await call('GET', '/api/routes/manual/conflicts?status=open')).json).toEqual([]);
  });

  it('runs the custom resolver in the worker, and sends a change it throws on to the dead letters', async () => {
    await pipeline.postgres.knex('acct_custom').where({ id: 3 }).update({ balance: 1000 }); // a deposit made at the target
    await sql('UPDATE acct SET balance = 350 WHERE id = 3'); // +50 at the source
    await pipeline.waitForCatchUp('custom');
    expect(await pgRow('acct_custom', 3)).toMatchObject({ balance: 1050 });
    const [conflict] = (await call('GET', '/api/routes/custom/conflicts')).json as Json[];
    expect(conflict).toMatchObject({ decision: 'merged', policy: 'custom', reason: 'custom resolver add-delta: write (target balance plus the source delta)' });

    await pipeline.postgres.knex('acct_custom').where({ id: 3 }).update({ balance: 10 });
    await sql('UPDATE acct SET balance = 0 WHERE id = 3'); // -350 at the source: the resolver throws
    await pipeline.waitForCatchUp('custom');
    expect(await pgRow('acct_custom', 3)).toMatchObject({ balance: 10 });
    const letters = (await call('GET', '/api/routes/custom/dead-letters')).json as unknown as { items: Json[] };
    expect(letters.items.map((letter) => letter.reason)).toEqual([expect.stringContaining('balance would go negative: -340')]);
    const refused = (await call('GET', '/api/routes/custom/conflicts?decision=refused')).json as Json[];
    expect(refused).toHaveLength(1);
  });
});

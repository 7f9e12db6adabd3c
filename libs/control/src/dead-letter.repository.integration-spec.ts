import { Knex } from 'knex';
import { migrateControl } from '@tributary/db';
import { WireChange } from '@tributary/model';
import { createMysqlDatabase, TestDatabase } from '@tributary/testing';
import { openMysql } from './control-database';
import { DeadLetterRepository } from './dead-letter.repository';
import { DeadLetterInput } from './types';

function refused(seq: number, reason = 'violates check constraint'): DeadLetterInput {
  const change: WireChange = { seq, table: 'items', op: 'insert', pk: `{"id":${seq}}`, before: null, after: '{}', origin: null, ts: 1, schema: 'h' };
  return { routeId: 'r', seq, rowKey: '', table: 'items', op: 'insert', change, reason, code: '23514' };
}

describe('DeadLetterRepository (MariaDB)', () => {
  let database: TestDatabase;
  let knex: Knex;
  let letters: DeadLetterRepository;

  beforeAll(async () => {
    database = await createMysqlDatabase('trib_dl');
    knex = openMysql(database.url);
    await migrateControl(knex);
    letters = new DeadLetterRepository(knex);
  });

  afterAll(async () => {
    await knex?.destroy();
    await database?.drop();
  });

  beforeEach(async () => {
    await knex('tributary_dead_letters').delete();
  });

  it('records a refusal once per (route, seq); a refused retry reopens it with one more attempt', async () => {
    await letters.record([refused(1), refused(2)]);
    const [first] = await letters.list('r', { status: 'open', limit: 10 });
    expect(first).toMatchObject({ seq: 1, status: 'open', attempts: 1, reason: 'violates check constraint', code: '23514' });
    expect(first.change.pk).toBe('{"id":1}');

    const [claimed] = await letters.claimForRetry('r', [first.id], { actor: 'alice', note: 'retry job j1' });
    expect(claimed).toMatchObject({ status: 'retrying', resolvedBy: 'alice', resolutionNote: 'retry job j1' });
    expect(claimed.resolvedAt).toBeInstanceOf(Date);

    await letters.record([refused(1, 'still refused')]);
    expect(await letters.get('r', first.id)).toMatchObject({ status: 'open', attempts: 2, reason: 'still refused', resolvedBy: null, resolutionNote: null });
    expect(await letters.countUnresolved()).toEqual(new Map([['r', { open: 2, retrying: 0 }]]));
  });

  it('keeps a discarded letter discarded, with who and why, even if it is recorded again', async () => {
    await letters.record([refused(5)]);
    const [letter] = await letters.list('r', { status: 'all', limit: 10 });
    const outcome = await letters.discard('r', letter.id, { actor: 'bob', reason: 'test data' });
    expect(outcome).toMatchObject({ kind: 'discarded', letter: { status: 'discarded', resolvedBy: 'bob', resolutionNote: 'test data' } });
    expect(await letters.discard('r', letter.id, { actor: 'eve', reason: 'again' })).toEqual({ kind: 'conflict', status: 'discarded' });
    expect(await letters.discard('other-route', letter.id, { actor: 'eve', reason: 'x' })).toEqual({ kind: 'not-found' });
    expect(await letters.claimForRetry('r', [letter.id], { actor: 'eve', note: 'retry job j2' })).toEqual([]);

    await letters.record([refused(5)]);
    expect(await letters.get('r', letter.id)).toMatchObject({ status: 'discarded', resolvedBy: 'bob', resolutionNote: 'test data' });
  });

  it('lets only one of two concurrent retries take a letter', async () => {
    await letters.record([refused(7), refused(8)]);
    const ids = (await letters.list('r', { status: 'open', limit: 10 })).map((l) => l.id);
    const [a, b] = await Promise.all([
      letters.claimForRetry('r', ids, { actor: 'a', note: 'retry job a' }),
      letters.claimForRetry('r', ids, { actor: 'b', note: 'retry job b' }),
    ]);
    expect(a.length + b.length).toBe(2);
    expect([a.length, b.length].sort()).toEqual([0, 2]);
  });

  it('resolves retried letters, finds stale retries and re-points them only once', async () => {
    await letters.record([refused(10), refused(11), refused(12)]);
    const ids = (await letters.list('r', { status: 'open', limit: 10 })).map((l) => l.id);
    await letters.claimForRetry('r', ids, { actor: 'carol', note: 'retry job lost' });
    expect(await letters.staleRetrying(60, 10)).toEqual([]);
    await knex('tributary_dead_letters').update({ resolved_at: knex.raw('NOW(6) - INTERVAL 2 MINUTE') });
    expect((await letters.staleRetrying(60, 10)).map((l) => l.seq)).toEqual([10, 11, 12]);

    const [taken, late] = await Promise.all([
      letters.reclaim(ids, 'retry job lost', 'retry job new'),
      letters.reclaim(ids, 'retry job lost', 'retry job other'),
    ]);
    expect([taken.length, late.length].sort()).toEqual([0, 3]);
    expect(await letters.staleRetrying(60, 10)).toEqual([]);

    await letters.resolveRetried([
      { id: ids[0], note: 'applied' },
      { id: ids[1], note: 'superseded' },
    ]);
    const all = await letters.list('r', { status: 'all', limit: 10 });
    expect(all.map((l) => [l.seq, l.status, l.resolutionNote, l.resolvedBy])).toEqual([
      [10, 'retried', 'applied', 'carol'],
      [11, 'retried', 'superseded', 'carol'],
      [12, 'retrying', expect.stringMatching(/^retry job (new|other)$/), 'carol'],
    ]);
    expect((await letters.list('r', { status: 'retried', limit: 1 })).map((l) => l.seq)).toEqual([10]);
    expect((await letters.list('r', { status: 'retried', limit: 1, afterId: ids[0] })).map((l) => l.seq)).toEqual([11]);
  });

  it('gives a failed enqueue its letters back', async () => {
    await letters.record([refused(20)]);
    const [letter] = await letters.list('r', { status: 'open', limit: 1 });
    await letters.claimForRetry('r', [letter.id], { actor: 'x', note: 'retry job never-queued' });
    await letters.releaseClaim([letter.id], 'retry job never-queued');
    expect(await letters.get('r', letter.id)).toMatchObject({ status: 'open', resolvedBy: null, attempts: 1 });
  });
});

import { Knex } from 'knex';
import { migrateControl } from '@tributary/db';
import { createMysqlDatabase, TestDatabase } from '@tributary/testing';
import { openMysql } from './control-database';
import { SnapshotRepository } from './snapshot.repository';

describe('SnapshotRepository (MariaDB)', () => {
  let database: TestDatabase;
  let knex: Knex;
  let snapshots: SnapshotRepository;

  beforeAll(async () => {
    database = await createMysqlDatabase('trib_snap');
    knex = openMysql(database.url);
    await migrateControl(knex);
    snapshots = new SnapshotRepository(knex);
  });

  afterAll(async () => {
    await knex?.destroy();
    await database?.drop();
  });

  it('moves a copy through its states, only forward, and records each chunk', async () => {
    expect(await snapshots.request('r1', 'initial', null)).toBe(true);
    expect(await snapshots.request('r1', 'resync', 'ops')).toBe(false); // one at a time per route
    expect(await snapshots.recordChunk('r1', { cursor: '{"id":1}', copied: 5, lastSeq: 10 })).toBe(false); // not started yet
    await snapshots.start('r1', 1000);
    expect(await snapshots.recordChunk('r1', { cursor: '{"id":5}', copied: 5, lastSeq: 10 })).toBe(true);
    expect(await snapshots.recordChunk('r1', { cursor: '{"id":9}', copied: 4, lastSeq: null })).toBe(true);
    expect(await snapshots.get('r1')).toMatchObject({ status: 'copying', cursor: '{"id":9}', rowsCopied: 9, chunks: 2, lastSeq: 10, rowsEstimated: 1000 });
    expect(await snapshots.finish('r1')).toBe(false); // not copied yet
    expect(await snapshots.finishCopying('r1', 42)).toBe(true);
    expect(await snapshots.finish('r1')).toBe(true);
    const done = await snapshots.get('r1');
    expect(done).toMatchObject({ status: 'done', finalSeq: 42, error: null });
    expect(done!.finishedAt).toBeInstanceOf(Date);
    expect(await snapshots.listActive(['r1'])).toEqual([]);
    // A finished copy is replaced by a new request, from the start.
    expect(await snapshots.request('r1', 'resync', 'ops')).toBe(true);
    expect(await snapshots.get('r1')).toMatchObject({ status: 'pending', reason: 'resync', requestedBy: 'ops', cursor: null, rowsCopied: 0 });
  });

  it('cancels and fails only running copies, keeping the reason', async () => {
    await snapshots.request('r2', 'initial', null);
    await snapshots.start('r2', 10);
    expect(await snapshots.cancel('r2', 'ops')).toBe(true);
    expect(await snapshots.cancel('r2', 'ops')).toBe(false);
    expect(await snapshots.recordChunk('r2', { cursor: null, copied: 1, lastSeq: 1 })).toBe(false); // the copier stops at its next chunk
    expect(await snapshots.get('r2')).toMatchObject({ status: 'cancelled', error: 'cancelled by ops' });

    await snapshots.request('r3', 'initial', null);
    await snapshots.recordError('r3', 'lock wait timeout');
    expect(await snapshots.get('r3')).toMatchObject({ status: 'pending', error: 'lock wait timeout' });
    await snapshots.fail('r3', "the route's filter does not fit");
    expect(await snapshots.get('r3')).toMatchObject({ status: 'failed', error: "the route's filter does not fit" });
    expect((await snapshots.list()).map((s) => s.routeId)).toEqual(['r1', 'r2', 'r3']);
  });
});

import { copyOrigin } from '@tributary/model';
import { OutboxHeader } from '@tributary/outbox';
import { MAX_PENDING_RANGES, runsOfRead } from './route-feed';
import { TransactionFeed } from './transaction-feed';

const header = (seq: number, table: string, origin: string | null = null): OutboxHeader => ({ seq, table, origin });

describe('TransactionFeed', () => {
  const members = [
    { routeId: 'checking-pg', table: 'checking', targetId: 'pg' },
    { routeId: 'savings-pg', table: 'savings', targetId: 'pg' },
    { routeId: 'savings-low-pg', table: 'savings', targetId: 'pg', localOnly: true },
  ];

  it("wants the rows any of its routes wants, and names their tables and progress rows", () => {
    const feed = new TransactionFeed('pg', members);
    expect(feed.id).toBe('txn.pg');
    expect(feed.tables).toEqual(['checking', 'savings']);
    expect(feed.progressIds).toEqual(['checking-pg', 'savings-pg', 'savings-low-pg']);
    expect(feed.wants(header(1, 'checking'))).toBe(true);
    expect(feed.wants(header(2, 'ledger'))).toBe(false);
    // An echo of the target itself is nobody's; a change forwarded from elsewhere is the routes' that are not local-only.
    expect(feed.wants(header(3, 'savings', 'tributary:pg'))).toBe(false);
    expect(feed.wants(header(4, 'savings', 'tributary:other'))).toBe(true);
    expect(feed.wants(header(5, 'checking', 'tributary:other'))).toBe(true);
    // A copy record goes to its own route only.
    expect(feed.wants(header(6, 'savings', copyOrigin('savings-low-pg')))).toBe(true);
    expect(feed.wants(header(7, 'savings', copyOrigin('elsewhere')))).toBe(false);
  });

  it('takes runs across its tables from one read, never across a missing id', () => {
    const feed = new TransactionFeed('pg', members);
    const headers = [header(1, 'checking'), header(2, 'savings'), header(3, 'ledger'), header(5, 'savings'), header(6, 'checking')];
    const byTable = new Map([
      ['checking', [feed]],
      ['savings', [feed]],
    ]);
    expect(runsOfRead(headers, (table) => byTable.get(table)).get(feed)).toEqual([
      { from: 1, to: 2, changes: 2 },
      { from: 5, to: 6, changes: 2 },
    ]);
  });

  it('is handed out only while sealed, never merges ranges (a merged range could take part of a later transaction), and is unsealed by a reset', () => {
    const feed = new TransactionFeed('pg', members);
    expect(feed.mayTake).toBe(false);
    for (let i = 0; i < MAX_PENDING_RANGES + 50; i++) feed.add({ from: i * 10, to: i * 10 + 1 });
    expect(feed.ranges()).toHaveLength(MAX_PENDING_RANGES + 50);
    feed.sealed = true;
    expect(feed.mayTake).toBe(true);
    feed.resetFrom(5, 100);
    expect(feed.mayTake).toBe(false);
    expect(feed.hasPending()).toBe(false);
  });

  it('makes one transaction job for all its routes, named by its target', () => {
    const feed = new TransactionFeed('pg', members.slice(0, 2));
    const { data, id } = feed.jobFor('src', [{ from: 3, to: 9 }], 9, 1234);
    expect(data).toEqual({
      v: 2,
      kind: 'transaction',
      sourceId: 'src',
      targetId: 'pg',
      routes: [
        { routeId: 'checking-pg', table: 'checking' },
        { routeId: 'savings-pg', table: 'savings' },
      ],
      ranges: [{ from: 3, to: 9 }],
      watermark: 9,
      coveredMicros: 1234,
    });
    expect(id).toBe('txn.pg.s3-9-n1-w9');
    // A change of its routes is another feed (the relay starts it from their checkpoints).
    expect(new TransactionFeed('pg', members).signature()).not.toBe(feed.signature());
  });
});

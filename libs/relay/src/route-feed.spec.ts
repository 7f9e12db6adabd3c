import { OutboxHeader } from '@tributary/outbox';
import { MAX_PENDING_RANGES, MAX_SPANNED_ROWS, RouteFeed, routeRuns, runsOfRead } from './route-feed';

const route = { routeId: 'r1', table: 'orders', targetId: 'pg' };
const header = (seq: number, table = 'orders', origin: string | null = null): OutboxHeader => ({ seq, table, origin });

describe('routeRuns', () => {
  it('spans other tables between its rows but never a hole', () => {
    const headers = [header(1), header(2, 'items'), header(3), header(5), header(6, 'items'), header(7, 'items')];
    expect(routeRuns(headers, route)).toEqual([
      { from: 1, to: 3, changes: 2 },
      { from: 5, to: 5, changes: 1 },
    ]);
  });

  it('leaves out echoes of its own target and other routes copy records', () => {
    const headers = [header(1, 'orders', 'tributary:pg'), header(2, 'orders', 'tributary-copy:r2'), header(3, 'orders', 'tributary-copy:r1'), header(4, 'orders', 'tributary:other')];
    expect(routeRuns(headers, route)).toEqual([{ from: 3, to: 4, changes: 2 }]);
  });

  it('does not span many rows of other tables: the worker would scan them for nothing', () => {
    const others = Array.from({ length: MAX_SPANNED_ROWS + 1 }, (_, i) => header(2 + i, 'items'));
    const after = 2 + others.length;
    expect(routeRuns([header(1), ...others, header(after), header(after + 1, 'items'), header(after + 2)], route)).toEqual([
      { from: 1, to: 1, changes: 1 },
      { from: after, to: after + 2, changes: 2 },
    ]);
  });

  it('finds every route its runs in one pass, each with its own gaps and spans', () => {
    const orders = { routeId: 'a', table: 'orders', targetId: 'x' };
    const ordersCopy = { routeId: 'b', table: 'orders', targetId: 'pg' };
    const items = { routeId: 'c', table: 'items', targetId: 'x' };
    const headers = [header(1), header(2, 'items'), header(3, 'orders', 'tributary:pg'), header(4), header(6, 'items'), header(7)];
    const runs = runsOfRead(headers, (table) => (table === 'orders' ? [orders, ordersCopy] : [items]));
    expect(runs.get(orders)).toEqual([
      { from: 1, to: 4, changes: 3 },
      { from: 7, to: 7, changes: 1 },
    ]);
    // Seq 3 is its own target's echo: spanned like another table's row, not counted.
    expect(runs.get(ordersCopy)).toEqual([
      { from: 1, to: 4, changes: 2 },
      { from: 7, to: 7, changes: 1 },
    ]);
    expect(runs.get(items)).toEqual([
      { from: 2, to: 2, changes: 1 },
      { from: 6, to: 6, changes: 1 },
    ]);
  });

  it('reads a local-only route\'s feed as the route: what Tributary applied at the source is not its', () => {
    const feed = new RouteFeed({ routeId: 'a-to-b', table: 'orders', targetId: 'b', localOnly: true });
    const runs = runsOfRead([header(1), header(2, 'orders', 'tributary:c'), header(3)], () => [feed]);
    expect(runs.get(feed)).toEqual([{ from: 1, to: 3, changes: 2 }]);
  });

  it('finds nothing in a read without its table', () => {
    expect(routeRuns([header(1, 'items'), header(2, 'items')], route)).toEqual([]);
  });
});

describe('RouteFeed', () => {
  it('merges ranges that touch or overlap, in order, wherever they arrive', () => {
    const feed = new RouteFeed(route);
    feed.add({ from: 10, to: 12 });
    feed.add({ from: 20, to: 25 });
    feed.add({ from: 1, to: 3 });
    feed.add({ from: 13, to: 13 }); // a hole that filled: 10..13 now
    feed.add({ from: 24, to: 30 });
    expect(feed.ranges()).toEqual([
      { from: 1, to: 3 },
      { from: 10, to: 13 },
      { from: 20, to: 30 },
    ]);
    feed.add({ from: 4, to: 19 });
    expect(feed.ranges()).toEqual([{ from: 1, to: 30 }]);
  });

  it('joins the ranges around a hole that rolled back', () => {
    const feed = new RouteFeed(route);
    feed.add({ from: 1, to: 4 });
    feed.add({ from: 7, to: 9 });
    feed.closeGap(6, 6); // not the whole gap: still two ranges
    expect(feed.ranges()).toHaveLength(2);
    feed.closeGap(5, 6);
    expect(feed.ranges()).toEqual([{ from: 1, to: 9 }]);
  });

  it('hands everything over once and starts empty, and counts the changes it owes (not the seqs its ranges span)', () => {
    const feed = new RouteFeed(route);
    feed.add({ from: 1, to: 2 });
    feed.add({ from: 3, to: 40 }, 5);
    expect(feed.owedChanges).toBe(7);
    expect(feed.take()).toEqual([{ from: 1, to: 40 }]);
    expect(feed.owedChanges).toBe(0);
    expect(feed.hasPending()).toBe(false);
    expect(feed.take()).toEqual([]);
  });

  it('starts again above its applied checkpoint by re-reading headers, and promises no watermark past what it re-read', () => {
    const feed = new RouteFeed(route);
    feed.add({ from: 500, to: 600 });
    feed.sentWatermark = 90;
    feed.resetFrom(10, 100);
    expect(feed.hasPending()).toBe(false);
    expect(feed.sentWatermark).toBe(-1);
    expect(feed.catchUp).toEqual({ next: 11, until: 100 });
    expect(feed.jobWatermark(150)).toBe(10);

    // A read of 11..40 (20 and 23..29 missing: open or rolled back; 31 another table): exact runs, never across a gap.
    const read = [11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 30, 31, 32, 40].map((seq) => header(seq, seq === 31 ? 'items' : 'orders'));
    const runsIn = (headers: OutboxHeader[]) => runsOfRead(headers, () => [feed], (f, seq) => f.catchesUp(seq)).get(feed) ?? [];
    feed.caughtUpTo(40, runsIn(read));
    expect(feed.ranges()).toEqual([
      { from: 11, to: 19 },
      { from: 21, to: 22 },
      { from: 30, to: 32 },
      { from: 40, to: 40 },
    ]);
    expect(feed.jobWatermark(150)).toBe(40);
    // A read that started below it gives it only what it still needs; the rest of the way ends the catch-up.
    feed.take();
    feed.caughtUpTo(100, runsIn([header(39), header(41), header(101)]));
    expect(feed.ranges()).toEqual([{ from: 41, to: 41 }]);
    expect(feed.catchUp).toBeNull();
    expect(feed.jobWatermark(150)).toBe(150);
  });

  it('has nothing to catch up when it applied everything the relay read', () => {
    const feed = new RouteFeed(route);
    feed.resetFrom(100, 100);
    expect(feed.catchUp).toBeNull();
    expect(feed.jobWatermark(120)).toBe(120);
  });

  it('stays bounded however fragmented: the closest ranges merge', () => {
    const feed = new RouteFeed(route);
    for (let i = 0; i < MAX_PENDING_RANGES + 50; i++) feed.add({ from: i * 10, to: i * 10 + (i % 7 === 0 ? 1 : 5) });
    const ranges = feed.ranges();
    expect(ranges.length).toBeLessThanOrEqual(MAX_PENDING_RANGES);
    // Still ascending, disjoint, and covering every seq added.
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].from).toBeGreaterThan(ranges[i - 1].to + 1);
    for (let i = 0; i < MAX_PENDING_RANGES + 50; i++) {
      expect(ranges.some((range) => range.from <= i * 10 && range.to >= i * 10 + 1)).toBe(true);
    }
  });
});

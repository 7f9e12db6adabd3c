import { OutboxHeader } from '@tributary/outbox';
import { MAX_PENDING_RANGES, MAX_SPANNED_ROWS, RouteFeed, routeRuns } from './route-feed';

const route = { routeId: 'r1', table: 'orders', echoOrigin: 'tributary:pg' };
const header = (seq: number, table = 'orders', origin: string | null = null): OutboxHeader => ({ seq, table, origin });

describe('routeRuns', () => {
  it('spans other tables between its rows but never a hole', () => {
    const headers = [header(1), header(2, 'items'), header(3), header(5), header(6, 'items'), header(7, 'items')];
    expect(routeRuns(headers, route)).toEqual([
      { from: 1, to: 3 },
      { from: 5, to: 5 },
    ]);
  });

  it('leaves out echoes of its own target and other routes copy records', () => {
    const headers = [header(1, 'orders', 'tributary:pg'), header(2, 'orders', 'tributary-copy:r2'), header(3, 'orders', 'tributary-copy:r1'), header(4, 'orders', 'tributary:other')];
    expect(routeRuns(headers, route)).toEqual([{ from: 3, to: 4 }]);
  });

  it('does not span many rows of other tables: the worker would scan them for nothing', () => {
    const others = Array.from({ length: MAX_SPANNED_ROWS + 1 }, (_, i) => header(2 + i, 'items'));
    const after = 2 + others.length;
    expect(routeRuns([header(1), ...others, header(after), header(after + 1, 'items'), header(after + 2)], route)).toEqual([
      { from: 1, to: 1 },
      { from: after, to: after + 2 },
    ]);
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

  it('hands everything over once and starts empty', () => {
    const feed = new RouteFeed(route);
    feed.add({ from: 1, to: 2 });
    expect(feed.take()).toEqual([{ from: 1, to: 2 }]);
    expect(feed.hasPending()).toBe(false);
    expect(feed.take()).toEqual([]);
  });

  it('starts again above its applied checkpoint, around the open holes', () => {
    const feed = new RouteFeed(route);
    feed.add({ from: 500, to: 600 });
    feed.sentWatermark = 90;
    feed.resetFrom(10, 100, [
      { from: 5, to: 8 },
      { from: 20, to: 21 },
      { from: 40, to: 40 },
    ]);
    expect(feed.ranges()).toEqual([
      { from: 11, to: 19 },
      { from: 22, to: 39 },
      { from: 41, to: 100 },
    ]);
    expect(feed.sentWatermark).toBe(-1);
    feed.resetFrom(100, 100, []);
    expect(feed.hasPending()).toBe(false);
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

import { crc32, feedId, feedIdsOf, inPartition, keyPartition, partitionOfFeed, routeOfFeed } from '@tributary/model';

describe('partitions', () => {
  it('hashes a key text as MariaDB CRC32() does, so the outbox read can pick a partition in SQL', () => {
    // Values from MariaDB 10.11: SELECT CRC32('123456789'), CRC32(_utf8mb4'{"id": "✓é"}').
    expect(crc32(Buffer.from('123456789'))).toBe(3421780262);
    expect(crc32(Buffer.from('{"id": "✓é"}', 'utf8'))).toBe(1252710158);
    expect(keyPartition('{"id": "✓é"}', 7)).toBe(1252710158 % 7);
  });

  it('puts every change of a key in one partition, and a key-moving update in every partition', () => {
    const partitions = [0, 1, 2].map((index) => ({ index, count: 3 }));
    const holders = (change: { op: string; pk: string; before: string | null }) => partitions.filter((p) => inPartition(change, p)).map((p) => p.index);
    for (let id = 1; id <= 50; id++) {
      const pk = `{"id": ${id}}`;
      const insert = holders({ op: 'insert', pk, before: null });
      expect(insert).toEqual([keyPartition(pk, 3)]);
      expect(holders({ op: 'update', pk, before: `{"id": ${id}, "name": "a"}` })).toEqual(insert);
      expect(holders({ op: 'delete', pk, before: `{"id": ${id}, "name": "a"}` })).toEqual(insert);
    }
    expect(holders({ op: 'update', pk: '{"id": 2}', before: '{"id": 1, "name": "a"}' })).toEqual([0, 1, 2]);
    // One partition is the whole route.
    expect(inPartition({ op: 'insert', pk: '{"id": 1}', before: null }, { index: 0, count: 1 })).toBe(true);
  });

  it('names a partition\'s feed with its count, and reads the name back', () => {
    expect(feedId('orders-pg', null)).toBe('orders-pg');
    expect(feedId('orders-pg', { index: 0, count: 1 })).toBe('orders-pg');
    expect(feedIdsOf('orders-pg', 3)).toEqual(['orders-pg.p0of3', 'orders-pg.p1of3', 'orders-pg.p2of3']);
    expect(routeOfFeed('orders-pg.p2of3')).toBe('orders-pg');
    expect(routeOfFeed('orders-pg')).toBe('orders-pg');
    expect(partitionOfFeed('orders-pg.p2of3')).toEqual({ index: 2, count: 3 });
    expect(partitionOfFeed('orders-pg')).toBeNull();
  });
});

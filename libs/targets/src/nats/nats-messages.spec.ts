import { crc32, RowChange, TargetTableSpec } from '@tributary/model';
import { eventSubject } from '../events/change-event';
import { ApplyBatch } from '../target';
import { columnSpec } from '../test-kit/target.contract';
import { EMPTY_TOKEN, keySubject, messageBytes, outgoingEvents, streamCovers, tableFilter } from './nats-messages';

const table: TargetTableSpec = {
  name: 'items',
  columns: [columnSpec('a', 'string', 'varchar(10)', { nullable: false }), columnSpec('b', 'int', 'int(11)', { nullable: false }), columnSpec('note', 'string', 'varchar(10)')],
  key: ['a', 'b'],
};
const settings = { subjectPrefix: 'p.q', buckets: 8 };

function batch(changes: RowChange[]): ApplyBatch {
  return { routeId: 'r1.p0of2', table, changes, watermark: 0, origin: 'tributary:shop', source: { id: 'shop', table: 'items', schemaHash: 'h' } };
}

describe('nats subjects', () => {
  it('names a key by its values in the table key order, whatever order the change listed them in', () => {
    const subject = keySubject(settings, 'shop', table, { b: 2, a: 'x.y', note: 'ignored' });
    expect(subject).toBe(eventSubject('p.q', { source: 'shop', table: 'items', key: { a: 'x.y', b: 2 } }, 8));
    expect(subject).toBe(`p.q.shop.items.${crc32(Buffer.from('{"a":"x.y","b":2}')) % 8}.x%2Ey,2`);
  });

  it('never makes an empty token: a key of one empty value, an unknown source', () => {
    const one: TargetTableSpec = { ...table, key: ['a'] };
    expect(keySubject(settings, 'shop', one, { a: '' })).toMatch(new RegExp(`^p\\.q\\.shop\\.items\\.\\d\\.${EMPTY_TOKEN}$`));
    expect(keySubject(settings, '', one, { a: 'k' })).toMatch(/^p\.q\.~empty\.items\.\d\.k$/);
    // '~' in a value is encoded, so no value can look like the empty token.
    expect(keySubject(settings, 'shop', one, { a: '~empty' })).toMatch(/\.%7Eempty$/);
    expect(keySubject(settings, 'shop', one, { a: Buffer.alloc(0) })).toMatch(/\.~empty$/);
  });

  it("reads a table's events from every source", () => {
    expect(tableFilter('p.q', 'my$table')).toBe('p.q.*.my%24table.>');
  });

  it.each([
    [['p.q.>'], true],
    [['>'], true],
    [['p.*.>'], true],
    [['*.q.*.*.*.*'], true],
    [['p.q.*.*.*.*'], true],
    [['p.q.*.*.*'], false],
    [['p.q.*.*.*.*.*'], false],
    [['p.q.shop.>'], false],
    [['p.q'], false],
    [['p'], false],
    [['other.>', 'p.q.>'], true],
    [['p.q.a.>', 'p.q.b.>'], false],
    [[], false],
  ])('stream subjects %j cover the prefix: %s', (filters, covered) => {
    expect(streamCovers(filters, 'p.q')).toBe(covered);
  });
});

describe('nats outgoing events', () => {
  const row = (a: string, b: number, note: string | null = null) => ({ a, b, note });

  it('makes one message per change, in batch order, each on its key subject', () => {
    const changes: RowChange[] = [
      { seq: 1, op: 'insert', key: { a: 'x', b: 1 }, before: null, after: row('x', 1) },
      { seq: 2, op: 'update', key: { a: 'x', b: 1 }, before: row('x', 1), after: row('x', 1, 'n') },
      { seq: 3, op: 'delete', key: { a: 'x', b: 1 }, before: row('x', 1, 'n'), after: null },
    ];
    const { messages, refused } = outgoingEvents(batch(changes), changes, settings, 1024 * 1024);
    expect(refused).toEqual([]);
    expect(messages.map((m) => [m.change.seq, m.role, m.event.op, m.subject])).toEqual([
      [1, 'change', 'insert', keySubject(settings, 'shop', table, { a: 'x', b: 1 })],
      [2, 'change', 'update', keySubject(settings, 'shop', table, { a: 'x', b: 1 })],
      [3, 'change', 'delete', keySubject(settings, 'shop', table, { a: 'x', b: 1 })],
    ]);
    expect(JSON.parse(messages[1].payload.toString('utf8'))).toEqual(messages[1].event);
    expect(messages[1].event).toMatchObject({ route: 'r1', source: 'shop', seq: 2, key: { a: 'x', b: 1 }, after: row('x', 1, 'n') });
  });

  it('publishes a key move as a delete of the key it left, then the update', () => {
    const move: RowChange = { seq: 7, op: 'update', key: { a: 'y', b: 1 }, before: row('x', 1, 'n'), after: row('y', 1, 'n'), ts: 42, copy: false };
    const { messages } = outgoingEvents(batch([move]), [move], settings, 1024 * 1024);
    expect(messages.map((m) => [m.role, m.event.op, m.subject, m.change])).toEqual([
      ['left', 'delete', keySubject(settings, 'shop', table, { a: 'x', b: 1 }), move],
      ['change', 'update', keySubject(settings, 'shop', table, { a: 'y', b: 1 }), move],
    ]);
    const [left, own] = messages.map((m) => m.event);
    expect(left).toMatchObject({ op: 'delete', seq: 7, ts: 42, key: { a: 'x', b: 1 }, before: row('x', 1, 'n'), after: null });
    expect(left.id).not.toBe(own.id);
    expect(own).toMatchObject({ op: 'update', key: { a: 'y', b: 1 }, before: row('x', 1, 'n'), after: row('y', 1, 'n') });
  });

  it('refuses a change whose message would exceed max_payload, headers counted, and keeps the others', () => {
    const small: RowChange = { seq: 1, op: 'insert', key: { a: 's', b: 1 }, before: null, after: row('s', 1) };
    const large: RowChange = { seq: 2, op: 'insert', key: { a: 'l', b: 1 }, before: null, after: row('l', 1, 'x'.repeat(5000)) };
    const probe = outgoingEvents(batch([small]), [small], settings, 1e9).messages[0];
    expect(messageBytes(probe)).toBeGreaterThan(probe.payload.length + 512);
    const { messages, refused } = outgoingEvents(batch([small, large]), [small, large], settings, 4096);
    expect(messages.map((m) => m.change)).toEqual([small]);
    expect(refused).toEqual([{ change: large, code: null, reason: expect.stringMatching(/^the change event is \d+ bytes with its headers, more than the NATS server takes in one message \(max_payload 4096 bytes\)$/) }]);
  });
});

import { createHmac } from 'node:crypto';
import { changeIdempotencyKey, fromWireRow, requestIdempotencyKey, signBody, toWireBatch, verifySignature } from './http-wire';

describe('http wire format', () => {
  it('signs the raw body with HMAC-SHA256 and verifies only the exact body and secret', () => {
    const body = '{"a":1}';
    expect(signBody('s3cret', body)).toBe(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
    expect(verifySignature('s3cret', body, signBody('s3cret', body))).toBe(true);
    expect(verifySignature('other', body, signBody('s3cret', body))).toBe(false);
    expect(verifySignature('s3cret', '{"a":2}', signBody('s3cret', body))).toBe(false);
    expect(verifySignature('s3cret', body, undefined)).toBe(false);
  });

  it('carries binary as base64 and big numbers as strings, with one idempotency key per change', () => {
    const table = {
      name: 't',
      key: ['id'],
      columns: [
        { name: 'id', type: 'bigint' as const, dataType: 'bigint', columnType: 'bigint(20) unsigned', nullable: false, unsigned: true, length: null, precision: null, scale: null, fsp: null, members: null },
        { name: 'b', type: 'binary' as const, dataType: 'blob', columnType: 'blob', nullable: true, unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null },
      ],
    };
    const after = { id: '18446744073709551615', b: Buffer.from([0, 255]) };
    const wire = toWireBatch('r', table, 9, false, 'tributary:src', [{ seq: 9, op: 'insert', key: { id: after.id }, before: null, after }]);
    const sent = JSON.parse(JSON.stringify(wire)) as typeof wire;
    expect(sent.changes[0]).toEqual({
      seq: 9,
      op: 'insert',
      key: { id: '18446744073709551615' },
      before: null,
      after: { id: '18446744073709551615', b: 'AP8=' },
      idempotencyKey: expect.stringMatching(/^r:9:[0-9a-f]{16}$/),
    });
    expect(fromWireRow(table.columns, sent.changes[0].after ?? {})).toEqual(after);
  });

  it('gives rows that share a seq (a copy chunk) their own idempotency keys, and one change the same key from every partition', () => {
    const row = (id: number) => ({ seq: 5, op: 'insert' as const, key: { id }, before: null, after: { id } });
    const [a, b] = [row(1), row(2)].map((change) => changeIdempotencyKey('orders-hook', change));
    expect(a).not.toBe(b);
    expect(changeIdempotencyKey('orders-hook', row(1))).toBe(a); // stable across redeliveries
    expect(changeIdempotencyKey('orders-hook.p1of2', row(1))).toBe(a); // a key move sent by every partition
    // Two requests of one chunk's rows (same seq range) never share a request key.
    expect(requestIdempotencyKey('orders-hook', [row(1)])).not.toBe(requestIdempotencyKey('orders-hook', [row(2)]));
    expect(requestIdempotencyKey('orders-hook', [row(1), row(2)])).toMatch(/^orders-hook:5-5:[0-9a-f]{16}$/);
  });
});

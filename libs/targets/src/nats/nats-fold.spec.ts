import { TargetTableSpec } from '@tributary/model';
import { TargetConfigError } from '../errors';
import { ChangeEvent } from '../events/change-event';
import { columnSpec } from '../test-kit/target.contract';
import { keyIdentity, parseEvent, TableFold } from './nats-fold';

const spec: TargetTableSpec = {
  name: 't',
  columns: [columnSpec('id', 'int', 'int(11)', { nullable: false }), columnSpec('bin', 'binary', 'varbinary(4)'), columnSpec('note', 'string', 'varchar(10)')],
  key: ['id'],
};

function event(seq: number, op: ChangeEvent['op'], key: ChangeEvent['key'], after: ChangeEvent['after']): ChangeEvent {
  return { v: 1, id: `r:${seq}:x`, source: 's', table: 't', sourceTable: 't', route: 'r', op, copy: false, seq, ts: null, schema: null, key, before: null, after };
}

describe('nats table fold', () => {
  it('keeps per key the last event: upserts merged over the row, deletes removing it', () => {
    const fold = new TableFold(1);
    fold.add(1, event(1, 'insert', { id: 2 }, { id: 2, bin: 'AP8=', note: 'a' }));
    fold.add(2, event(2, 'insert', { id: 1 }, { id: 1, bin: null, note: 'b' }));
    // An older shape (no note): note keeps its value, as an upsert into a table leaves it.
    fold.add(3, event(3, 'update', { id: 2 }, { id: 2, bin: 'AQ==' }));
    fold.add(4, event(4, 'delete', { id: 1 }, null));
    fold.add(5, event(5, 'insert', { id: 3 }, { id: 3 }));
    expect(fold.seq).toBe(5);
    expect(fold.rowsFor(spec)).toEqual([
      { id: 2, bin: Buffer.from([1]), note: 'a' },
      { id: 3, bin: null, note: null },
    ]);
    // A row deleted and inserted again starts afresh.
    fold.add(6, event(6, 'delete', { id: 2 }, null));
    fold.add(7, event(7, 'insert', { id: 2 }, { id: 2 }));
    expect(fold.rowsFor(spec)[0]).toEqual({ id: 2, bin: null, note: null });
  });

  it('names a key by its names and values, whatever their order', () => {
    expect(keyIdentity({ b: 1, a: 'x' })).toBe(keyIdentity({ a: 'x', b: 1 }));
    expect(keyIdentity({ a: 1 })).not.toBe(keyIdentity({ a: '1' }));
    expect(keyIdentity({ a: 1 })).not.toBe(keyIdentity({ b: 1 }));
  });

  it('leaves out rows a spec cannot name (a key column renamed since), and decodes again only after a change', () => {
    const fold = new TableFold(1);
    fold.add(1, event(1, 'insert', { id: 1 }, { id: 1, note: 'x' }));
    const renamed: TargetTableSpec = { ...spec, columns: [{ ...spec.columns[0], name: 'ident' }, spec.columns[2]], key: ['ident'] };
    expect(fold.rowsFor(renamed)).toEqual([]);
    const first = fold.rowsFor(spec);
    expect(fold.rowsFor(spec)).toBe(first);
    fold.add(2, event(2, 'insert', { ident: 2 }, { ident: 2, note: 'y' }));
    expect(fold.rowsFor(spec)).not.toBe(first);
    expect(fold.rowsFor(renamed)).toEqual([{ ident: 2, note: 'y' }]);
  });

  it('reads only change events of version 1', () => {
    const ok = event(1, 'insert', { id: 1 }, { id: 1 });
    expect(parseEvent(Buffer.from(JSON.stringify(ok)), 'm')).toEqual(ok);
    for (const [payload, why] of [
      ['nope', 'it is not JSON'],
      ['[1]', 'its version is undefined'],
      [JSON.stringify({ ...ok, v: 2 }), 'its version is 2, not 1'],
      [JSON.stringify({ ...ok, op: 'upsert' }), 'it has no op'],
      [JSON.stringify({ ...ok, key: null }), 'it has no key'],
      [JSON.stringify({ ...ok, after: null }), 'it has no after image'],
    ]) {
      expect(() => parseEvent(Buffer.from(payload), 'message 9 on x')).toThrow(TargetConfigError);
      expect(() => parseEvent(Buffer.from(payload), 'message 9 on x')).toThrow(`nats target: message 9 on x is not a change event this target can read (${why}`);
    }
  });
});

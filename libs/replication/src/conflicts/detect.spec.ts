import { Row } from '@tributary/model';
import { detectConflict, DetectMode, valuesEqual } from '../index';

const compared = ['id', 'x', 'y', 'v'];
const base: Row = { id: 1, x: 1, y: 1, v: 1 };
const MODES: DetectMode[] = ['all', 'changed', 'version'];
const detect = (op: 'insert' | 'update' | 'delete', before: Row | null, after: Row | null, target: Row | null, mode: DetectMode) =>
  detectConflict({ op, before, after }, target, mode, 'v', compared);

describe('valuesEqual', () => {
  it('compares values by kind', () => {
    expect(valuesEqual(null, undefined)).toBe(true);
    expect(valuesEqual(undefined, undefined)).toBe(true);
    expect(valuesEqual(null, 0)).toBe(false);
    expect(valuesEqual(null, '')).toBe(false);
    expect(valuesEqual(1, 1)).toBe(true);
    expect(valuesEqual(1, 2)).toBe(false);
    expect(valuesEqual(1, '1')).toBe(false);
    expect(valuesEqual('a', 'a')).toBe(true);
    expect(valuesEqual('a', 'A')).toBe(false);
    expect(valuesEqual(Buffer.from([1, 2]), Buffer.from([1, 2]))).toBe(true);
    expect(valuesEqual(Buffer.from([1, 2]), Buffer.from([1, 3]))).toBe(false);
    expect(valuesEqual(Buffer.from('ab'), 'ab')).toBe(false);
    expect(valuesEqual('ab', Buffer.from('ab'))).toBe(false);
    expect(valuesEqual(Buffer.alloc(0), null)).toBe(false);
  });
});

describe('detectConflict', () => {
  describe.each(MODES)('mode %s', (mode) => {
    it('insert: no target → none', () => {
      expect(detect('insert', null, base, null, mode)).toBeNull();
    });
    it('insert: the same row already there → none', () => {
      expect(detect('insert', null, base, { ...base }, mode)).toBeNull();
    });
    it('insert: a different row → exists', () => {
      expect(detect('insert', null, base, { ...base, x: 2, v: 2 }, mode)).toBe('exists');
    });
    it('update: no target → missing', () => {
      expect(detect('update', base, { ...base, x: 2, v: 2 }, null, mode)).toBe('missing');
    });
    it('update: target as the source saw it → none', () => {
      expect(detect('update', base, { ...base, x: 2, v: 2 }, { ...base }, mode)).toBeNull();
    });
    it('update: target already equal to after → none (converged)', () => {
      expect(detect('update', base, { ...base, x: 2, v: 2 }, { ...base, x: 2, v: 2 }, mode)).toBeNull();
    });
    it('update: target changed everywhere → mismatch', () => {
      expect(detect('update', base, { ...base, x: 2, v: 2 }, { ...base, x: 3, y: 3, v: 3 }, mode)).toBe('mismatch');
    });
    it('delete: no target → missing', () => {
      expect(detect('delete', base, null, null, mode)).toBe('missing');
    });
    it('delete: target as the deleter saw it → none', () => {
      expect(detect('delete', base, null, { ...base }, mode)).toBeNull();
    });
    it('delete: target changed with its version → mismatch', () => {
      expect(detect('delete', base, null, { ...base, y: 2, v: 2 }, mode)).toBe('mismatch');
    });
  });

  it('insert in mode version compares only the version column', () => {
    expect(detect('insert', null, base, { ...base, x: 9 }, 'version')).toBeNull();
    expect(detect('insert', null, base, { ...base, x: 9 }, 'all')).toBe('exists');
    expect(detect('insert', null, base, { ...base, x: 9 }, 'changed')).toBe('exists');
  });

  it('update: a change to another column only conflicts in mode all', () => {
    const after = { ...base, x: 2 };
    const target = { ...base, y: 5 };
    expect(detect('update', base, after, target, 'all')).toBe('mismatch');
    expect(detect('update', base, after, target, 'changed')).toBeNull();
    expect(detect('update', base, after, target, 'version')).toBeNull();
  });

  it('update: a change to the same column without a version bump conflicts in modes all and changed', () => {
    const after = { ...base, x: 2 };
    const target = { ...base, x: 3 };
    expect(detect('update', base, after, target, 'all')).toBe('mismatch');
    expect(detect('update', base, after, target, 'changed')).toBe('mismatch');
    expect(detect('update', base, after, target, 'version')).toBeNull();
  });

  it('update: only a version bump elsewhere conflicts in modes all and version', () => {
    const after = { ...base, x: 2 };
    const target = { ...base, v: 2 };
    expect(detect('update', base, after, target, 'all')).toBe('mismatch');
    expect(detect('update', base, after, target, 'changed')).toBeNull();
    expect(detect('update', base, after, target, 'version')).toBe('mismatch');
  });

  it('delete: mode changed compares every column; mode version only the version', () => {
    const target = { ...base, y: 5 };
    expect(detect('delete', base, null, target, 'all')).toBe('mismatch');
    expect(detect('delete', base, null, target, 'changed')).toBe('mismatch');
    expect(detect('delete', base, null, target, 'version')).toBeNull();
  });

  it('ignores columns outside compared', () => {
    const c = ['id', 'x'];
    expect(detectConflict({ op: 'update', before: { id: 1, x: 1, at: 'a' }, after: { id: 1, x: 2, at: 'b' } }, { id: 1, x: 1, at: 'z' }, 'all', null, c)).toBeNull();
    expect(detectConflict({ op: 'insert', before: null, after: { id: 1, x: 1, at: 'a' } }, { id: 1, x: 1, at: 'z' }, 'all', null, c)).toBeNull();
  });

  it('compares binary columns by bytes and treats a missing value as null', () => {
    const c = ['id', 'b', 'n'];
    const before = { id: 1, b: Buffer.from([1]) };
    expect(detectConflict({ op: 'delete', before, after: null }, { id: 1, b: Buffer.from([1]), n: null }, 'all', null, c)).toBeNull();
    expect(detectConflict({ op: 'delete', before, after: null }, { id: 1, b: Buffer.from([2]), n: null }, 'all', null, c)).toBe('mismatch');
  });

  it('refuses mode version without a column and changes without their images', () => {
    expect(() => detectConflict({ op: 'delete', before: base, after: null }, base, 'version', null, compared)).toThrow(/version column/);
    expect(() => detectConflict({ op: 'update', before: null, after: base }, base, 'all', null, compared)).toThrow(/before image/);
    expect(() => detectConflict({ op: 'insert', before: null, after: null }, base, 'all', null, compared)).toThrow(/after image/);
  });
});

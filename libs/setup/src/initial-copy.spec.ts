import { initialCopyOf } from './initial-copy';

describe('initialCopyOf', () => {
  it('says plainly that existing rows are not copied yet', () => {
    expect(initialCopyOf('items', 3, true)).toEqual({
      available: false,
      sourceRows: 3,
      message: 'This table already has 3 rows; initial copy (snapshot) is not implemented yet — only changes from now on will be replicated (issue #5).',
    });
    expect(initialCopyOf('items', 1, true).message).toContain('already has 1 row;');
    expect(initialCopyOf('items', 2_500_000, false).message).toContain('already has about 2500000 rows;');
  });

  it('has nothing to copy from an empty table', () => {
    expect(initialCopyOf('items', 0, true)).toEqual({ available: false, sourceRows: 0, message: expect.stringContaining('nothing to copy') });
  });

  it('admits an unknown count', () => {
    expect(initialCopyOf('items', null, false)).toEqual({ available: false, sourceRows: null, message: expect.stringContaining('could not be counted') });
  });
});

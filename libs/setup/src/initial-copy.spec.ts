import { initialCopyOf } from './initial-copy';

describe('initialCopyOf', () => {
  it('says a copy was requested, with the row count', () => {
    expect(initialCopyOf('items', 3, true, true)).toEqual({ requested: true, sourceRows: 3, message: expect.stringContaining('items has 3 rows; an initial copy was requested') });
    expect(initialCopyOf('items', 2_500_000, false, true).message).toContain('has about 2500000 rows;');
    expect(initialCopyOf('items', null, false, true).message).toContain('unknown number of rows');
  });

  it('says what is missed when no copy was asked for', () => {
    expect(initialCopyOf('items', 1, true, false)).toEqual({ requested: false, sourceRows: 1, message: expect.stringContaining('only changes from now on') });
  });
});

import { columnRenames, tableRenameOf } from './alter-clauses';

describe('columnRenames', () => {
  it('reads RENAME COLUMN and CHANGE in clause order', () => {
    expect(columnRenames('RENAME COLUMN a TO b, ADD COLUMN c INT, CHANGE COLUMN d e VARCHAR(20) NULL, change f `g h` int')).toEqual([
      { from: 'a', to: 'b' },
      { from: 'd', to: 'e' },
      { from: 'f', to: 'g h' },
    ]);
  });

  it('reads quoted names with doubled backticks and CHANGE IF EXISTS', () => {
    expect(columnRenames('CHANGE IF EXISTS `we``ird` plain BIGINT')).toEqual([{ from: 'we`ird', to: 'plain' }]);
  });

  it('ignores a CHANGE that keeps the name, and commas inside types, strings and defaults', () => {
    expect(columnRenames("CHANGE amount amount DECIMAL(12,2), MODIFY note VARCHAR(10) DEFAULT 'a,b', RENAME COLUMN x TO y")).toEqual([{ from: 'x', to: 'y' }]);
  });

  it('finds nothing in clauses that rename no column', () => {
    expect(columnRenames('ADD COLUMN rename_me INT, RENAME INDEX i1 TO i2, DROP COLUMN change_log')).toEqual([]);
  });

  it('keeps a swap as written (MariaDB applies the clauses together)', () => {
    expect(columnRenames('RENAME COLUMN a TO b, RENAME COLUMN b TO a')).toEqual([
      { from: 'a', to: 'b' },
      { from: 'b', to: 'a' },
    ]);
  });
});

describe('tableRenameOf', () => {
  it('reads the new name of RENAME [TO|AS] name, quoted or not', () => {
    expect(tableRenameOf('RENAME TO purchases')).toBe('purchases');
    expect(tableRenameOf('  rename as `order_items` ')).toBe('order_items');
    expect(() => tableRenameOf('RENAME TO `order items`')).toThrow(/letters, digits/);
    expect(tableRenameOf('RENAME purchases')).toBe('purchases');
  });

  it('is null for clauses that rename no table', () => {
    expect(tableRenameOf('RENAME COLUMN a TO b, ADD COLUMN c INT')).toBeNull();
    expect(tableRenameOf('RENAME INDEX i1 TO i2')).toBeNull();
    expect(tableRenameOf("ADD COLUMN note VARCHAR(20) DEFAULT 'RENAME TO x'")).toBeNull();
  });

  it('refuses a table rename among other clauses, or one that is not just a name', () => {
    expect(() => tableRenameOf('ADD COLUMN c INT, RENAME TO purchases')).toThrow(/an ALTER of its own/);
    expect(() => tableRenameOf('RENAME TO purchases ALGORITHM=INPLACE')).toThrow(/must read RENAME TO <name>/);
    expect(() => tableRenameOf('RENAME TO other.purchases')).toThrow(/must read RENAME TO <name>/);
  });
});

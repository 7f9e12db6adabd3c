import { restatedDefault, simultaneousRenames } from './mysql-evolve';

describe('simultaneousRenames', () => {
  const renames = (...pairs: [string, string][]) => pairs.map(([from, to]) => ({ from, to }));

  it('keeps renames that name distinct columns as they are', () => {
    expect(simultaneousRenames(renames(['a', 'b'], ['c', 'd']))).toEqual(renames(['a', 'b'], ['c', 'd']));
  });

  it('turns a swap through a temporary name into a swap the one statement makes', () => {
    expect(simultaneousRenames(renames(['a', 't'], ['b', 'a'], ['t', 'b']))).toEqual(renames(['b', 'a'], ['a', 'b']));
  });

  it('follows a chain to its last name, and drops a rename undone within the step', () => {
    expect(simultaneousRenames(renames(['a', 'b'], ['b', 'c']))).toEqual(renames(['a', 'c']));
    expect(simultaneousRenames(renames(['a', 'b'], ['b', 'a']))).toEqual([]);
  });
});

describe('restatedDefault (a MODIFY keeps the column\'s default)', () => {
  const restated = (columnDefault: string | null) => restatedDefault({ columnDefault });

  it('restates the defaults Tributary gives, as MariaDB writes them in COLUMN_DEFAULT', () => {
    expect(restated("'open'")).toBe(" DEFAULT 'open'");
    expect(restated("'it\\'s a \\\\ path'")).toBe(" DEFAULT 'it\\'s a \\\\ path'");
    expect(restated("''")).toBe(" DEFAULT ''");
    expect(restated('-1.50')).toBe(' DEFAULT -1.50');
    expect(restated('current_timestamp(6)')).toBe(' DEFAULT current_timestamp(6)');
    expect(restated('current_timestamp()')).toBe(' DEFAULT current_timestamp()');
  });

  it('restates none, nor anything that is not one whole literal', () => {
    for (const text of [null, 'NULL', 'uuid()', "'a' OR 1", "'unterminated\\'", "b'1'", '(1 + 2)', 'open']) expect(restated(text)).toBe('');
  });
});

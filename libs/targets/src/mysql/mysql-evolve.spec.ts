import { simultaneousRenames } from './mysql-evolve';

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

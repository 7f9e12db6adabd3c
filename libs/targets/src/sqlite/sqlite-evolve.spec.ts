import { TargetConfigError } from '../errors';
import { withoutNotNull } from './sqlite-evolve';

describe('withoutNotNull', () => {
  it('drops NOT NULL from the named columns only, keeping types, CHECKs with commas and added columns', () => {
    const sql =
      `CREATE TABLE "t" ("id" INTEGER NOT NULL, "name" TEXT NOT NULL CHECK (length("name") <= 5), ` +
      `"b" TEXT NOT NULL CHECK (length("b") = 2 AND "b" NOT GLOB '*[^01]*'), PRIMARY KEY ("id")) STRICT, "js" TEXT CHECK (json_valid("js"))`;
    const added = `CREATE TABLE "t" ("id" INTEGER NOT NULL, "name" TEXT NOT NULL CHECK (length("name") <= 5), "x,y" TEXT NOT NULL, PRIMARY KEY ("id")) STRICT`;
    expect(withoutNotNull(sql.replace(/\) STRICT, .*$/, ') STRICT'), ['name', 'b'], 't')).toBe(
      `CREATE TABLE "t" ("id" INTEGER NOT NULL, "name" TEXT CHECK (length("name") <= 5), ` +
        `"b" TEXT CHECK (length("b") = 2 AND "b" NOT GLOB '*[^01]*'), PRIMARY KEY ("id")) STRICT`,
    );
    expect(withoutNotNull(added, ['name'], 't')).toContain('"x,y" TEXT NOT NULL'); // a quoted comma is not a separator
    expect(() => withoutNotNull(added, ['missing'], 't')).toThrow(TargetConfigError);
    expect(() => withoutNotNull('CREATE TABLE t', ['a'], 't')).toThrow(TargetConfigError);
  });
});

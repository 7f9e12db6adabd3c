import { TargetConfigError } from '../errors';
import { withDefault, withoutNotNull } from './sqlite-evolve';

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

describe('withDefault', () => {
  const sql = `CREATE TABLE "t" ("id" INTEGER NOT NULL, "s" TEXT CHECK (length("s") <= 40) DEFAULT 'it''s, NOT NULL', "n" INTEGER DEFAULT -5, PRIMARY KEY ("id")) STRICT`;

  it("replaces the column's DEFAULT, wherever it stood, or adds one, leaving the other columns as they are", () => {
    expect(withDefault(sql, 's', "'new'", 't')).toBe(`CREATE TABLE "t" ("id" INTEGER NOT NULL, "s" TEXT CHECK (length("s") <= 40) DEFAULT 'new', "n" INTEGER DEFAULT -5, PRIMARY KEY ("id")) STRICT`);
    expect(withDefault(sql, 'n', null, 't')).toBe(`CREATE TABLE "t" ("id" INTEGER NOT NULL, "s" TEXT CHECK (length("s") <= 40) DEFAULT 'it''s, NOT NULL', "n" INTEGER, PRIMARY KEY ("id")) STRICT`);
    expect(withDefault(sql, 'id', '7', 't')).toContain('"id" INTEGER NOT NULL DEFAULT 7,');
    const before = `CREATE TABLE t (a TEXT DEFAULT (lower('X')) NOT NULL, b BLOB CONSTRAINT d DEFAULT x'00ff' CHECK (length(b) > 0), c TEXT DEFAULT CURRENT_TIMESTAMP)`;
    expect(withDefault(before, 'a', "'y'", 't')).toBe(`CREATE TABLE t (a TEXT NOT NULL DEFAULT 'y', b BLOB CONSTRAINT d DEFAULT x'00ff' CHECK (length(b) > 0), c TEXT DEFAULT CURRENT_TIMESTAMP)`);
    expect(withDefault(before, 'b', null, 't')).toBe(`CREATE TABLE t (a TEXT DEFAULT (lower('X')) NOT NULL, b BLOB CHECK (length(b) > 0), c TEXT DEFAULT CURRENT_TIMESTAMP)`);
    expect(withDefault(before, 'c', "'z'", 't')).toContain(`c TEXT DEFAULT 'z')`);
    expect(() => withDefault(sql, 'missing', '1', 't')).toThrow(TargetConfigError);
  });

  it('leaves NOT NULL in a default string alone when it drops the constraint', () => {
    expect(withoutNotNull(`CREATE TABLE "t" ("id" INTEGER NOT NULL, "s" TEXT NOT NULL DEFAULT 'NOT NULL', PRIMARY KEY ("id")) STRICT`, ['s'], 't')).toBe(
      `CREATE TABLE "t" ("id" INTEGER NOT NULL, "s" TEXT DEFAULT 'NOT NULL', PRIMARY KEY ("id")) STRICT`,
    );
  });
});

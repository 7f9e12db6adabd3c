import { CaptureError } from './errors';
import { validateAlterSpec } from './alter-spec';

describe('validateAlterSpec', () => {
  it.each([
    'ADD COLUMN note VARCHAR(20) NULL, DROP COLUMN legacy',
    '  ADD COLUMN `odd``name` INT NULL  ',
    "ADD COLUMN s ENUM('it''s', 'a\"b', \"q\") NULL DEFAULT 'it''s'",
    'RENAME COLUMN a TO b',
    'RENAME INDEX i1 TO i2, MODIFY n BIGINT NOT NULL',
    "ADD COLUMN c VARCHAR(10) COMMENT 'rename to x'",
    'ADD COLUMN renamed_at DATETIME NULL',
  ])('accepts %s', (spec) => {
    expect(validateAlterSpec(spec)).toBe(spec.trim());
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['DROP COLUMN a; DROP TABLE users', /";"/],
    ["ADD COLUMN c VARCHAR(5) DEFAULT ';'", /";"/],
    ['DROP COLUMN a -- and the rest', /comments/],
    ['DROP COLUMN a # and the rest', /comments/],
    ['DROP COLUMN a /*! , DROP COLUMN b */', /comments/],
    ['DROP COLUMN `a', /unclosed backtick-quoted name/],
    ['DROP COLUMN `a``', /unclosed backtick-quoted name/],
    ["ADD COLUMN c INT DEFAULT 'x", /unclosed string/],
    ["ADD COLUMN c INT DEFAULT 'x\\'", /backslashes/],
    ["ADD COLUMN c INT COMMENT 'x\\' RENAME TO y, COMMENT '\\''", /backslashes/],
    ['ADD COLUMN c INT DEFAULT "x', /unclosed string/],
    ['RENAME TO other', /must not rename the table/],
    ['ADD COLUMN c INT NULL, rename as other', /must not rename the table/],
    ['RENAME other', /must not rename the table/],
    ['DROP COLUMN a\0', /NUL/],
  ])('refuses %j', (spec, reason) => {
    expect(() => validateAlterSpec(spec)).toThrow(CaptureError);
    expect(() => validateAlterSpec(spec)).toThrow(reason);
  });
});

import { ColumnDefault, quoteAnsi, quoteMysql } from '@tributary/model';
import { columnSpec } from '../test-kit/target.contract';
import { alterDefaultAction, defaultClause, DefaultDialect, defaultSql, postgresString } from './column-defaults';

const value = (text: string): ColumnDefault => ({ kind: 'value', value: text });
const now: ColumnDefault = { kind: 'now' };
/** The default of one column in each dialect, in the order postgres, mysql, sqlite. */
const inEach = (column: ReturnType<typeof columnSpec>, dflt: ColumnDefault | null | undefined) =>
  (['postgres', 'mysql', 'sqlite'] as DefaultDialect[]).map((dialect) => defaultSql(dialect, column, dflt));

describe('defaultSql (a source default as a DEFAULT of each SQL target)', () => {
  it('writes numbers bare when they look like numbers, and gives no default when they do not', () => {
    const int = columnSpec('n', 'int', 'int(11)');
    expect(inEach(int, value('5'))).toEqual(['5', '5', '5']);
    expect(inEach(int, value('-12'))).toEqual(['-12', '-12', '-12']);
    expect(inEach(columnSpec('d', 'double', 'double'), value('1.5e-3'))).toEqual(['1.5e-3', '1.5e-3', '1.5e-3']);
    expect(inEach(columnSpec('f', 'float', 'float'), value('0.25'))).toEqual(['0.25', '0.25', '0.25']);
    expect(inEach(columnSpec('y', 'year', 'year(4)'), value('2020'))).toEqual(['2020', '2020', '2020']);
    expect(inEach(columnSpec('b', 'bigint', 'bigint(20)'), value('-9223372036854775808'))).toEqual(['-9223372036854775808', '-9223372036854775808', '-9223372036854775808']);
    for (const bad of ['abc', '1; DROP TABLE t', '', '+1', '.5', '0x1F', "1'"]) expect(inEach(int, value(bad))).toEqual([null, null, null]);
  });

  it("quotes the numbers SQLite keeps as TEXT (DECIMAL, unsigned BIGINT), so every digit stays as written", () => {
    expect(inEach(columnSpec('a', 'decimal', 'decimal(12,2)'), value('12.50'))).toEqual(['12.50', '12.50', "'12.50'"]);
    expect(inEach(columnSpec('u', 'bigint', 'bigint(20) unsigned'), value('18446744073709551615'))).toEqual([
      '18446744073709551615',
      '18446744073709551615',
      "'18446744073709551615'",
    ]);
  });

  it('quotes strings as each dialect reads them: quotes doubled, backslashes doubled where they escape', () => {
    const text = columnSpec('s', 'string', 'varchar(40)');
    expect(inEach(text, value('open'))).toEqual(["'open'", "'open'", "'open'"]);
    expect(inEach(text, value(''))).toEqual(["''", "''", "''"]);
    expect(inEach(text, value("it's"))).toEqual(["'it''s'", "'it''s'", "'it''s'"]);
    // PostgreSQL: an escape string, so the backslash means itself whatever standard_conforming_strings says, and `?` not a knex placeholder.
    expect(inEach(text, value("it's a \\ path?"))).toEqual(["E'it''s a \\\\ path\\x3f'", "'it''s a \\\\ path?'", "'it''s a \\ path?'"]);
    expect(inEach(text, value("\\'; DROP TABLE t; --"))).toEqual(["E'\\\\''; DROP TABLE t; --'", "'\\\\''; DROP TABLE t; --'", "'\\''; DROP TABLE t; --'"]);
    expect(inEach(text, value('NULL'))).toEqual(["'NULL'", "'NULL'", "'NULL'"]);
    expect(inEach(text, value('a\0b'))).toEqual([null, null, null]); // NUL: PostgreSQL text cannot hold it
  });

  it('gives MySQL TEXT and JSON defaults as expressions (MySQL 8 takes no literal there), other strings as literals', () => {
    expect(defaultSql('mysql', columnSpec('t', 'string', 'mediumtext'), value("a'b"))).toBe("('a''b')");
    expect(defaultSql('mysql', columnSpec('j', 'json', 'json'), value('{"a":1}'))).toBe('(\'{"a":1}\')');
    expect(defaultSql('mysql', columnSpec('c', 'string', 'char(3)'), value('abc'))).toBe("'abc'");
    expect(defaultSql('mysql', columnSpec('e', 'enum', "enum('a','b')", { members: ['a', 'b'] }), value('b'))).toBe("'b'");
    expect(defaultSql('postgres', columnSpec('t', 'string', 'mediumtext'), value('x'))).toBe("'x'");
    expect(defaultSql('sqlite', columnSpec('j', 'json', 'json'), value('[1]'))).toBe("'[1]'");
  });

  it('quotes enum, set, json, date, datetime and time values; PostgreSQL gets none it would refuse', () => {
    expect(inEach(columnSpec('st', 'set', "set('a','b')", { members: ['a', 'b'] }), value('a,b'))).toEqual(["'a,b'", "'a,b'", "'a,b'"]);
    expect(inEach(columnSpec('js', 'json', 'json'), value('{"a": [1]}'))).toEqual(['\'{"a": [1]}\'', '(\'{"a": [1]}\')', '\'{"a": [1]}\'']);
    expect(inEach(columnSpec('js', 'json', 'json'), value('{oops'))).toEqual([null, "('{oops')", "'{oops'"]);
    const date = columnSpec('d', 'date', 'date');
    expect(inEach(date, value('2020-01-02'))).toEqual(["'2020-01-02'", "'2020-01-02'", "'2020-01-02'"]);
    // MySQL's zero dates, and days the calendar lacks, would make PostgreSQL's CREATE TABLE fail.
    expect(inEach(date, value('0000-00-00'))).toEqual([null, "'0000-00-00'", "'0000-00-00'"]);
    expect(defaultSql('postgres', date, value('2021-02-29'))).toBeNull();
    expect(defaultSql('postgres', date, value('2024-02-29'))).toBe("'2024-02-29'");
    const datetime = columnSpec('dt', 'datetime', 'datetime(6)');
    expect(inEach(datetime, value('2020-01-02 03:04:05.123456'))).toEqual(Array(3).fill("'2020-01-02 03:04:05.123456'"));
    expect(defaultSql('postgres', datetime, value('2020-01-02 24:00:00'))).toBeNull();
    const time = columnSpec('t', 'time', 'time(3)');
    expect(inEach(time, value('-838:59:59.000'))).toEqual(Array(3).fill("'-838:59:59.000'"));
    expect(inEach(time, value('noon'))).toEqual([null, "'noon'", "'noon'"]);
  });

  it('gives datetime and timestamp columns CURRENT_TIMESTAMP for now, at the column precision on MySQL', () => {
    expect(inEach(columnSpec('dt', 'datetime', 'datetime(6)'), now)).toEqual(['CURRENT_TIMESTAMP', 'CURRENT_TIMESTAMP(6)', 'CURRENT_TIMESTAMP']);
    expect(inEach(columnSpec('ts', 'timestamp', 'timestamp'), now)).toEqual(['CURRENT_TIMESTAMP', 'CURRENT_TIMESTAMP', 'CURRENT_TIMESTAMP']);
    expect(inEach(columnSpec('d', 'date', 'date'), now)).toEqual([null, null, null]);
    expect(inEach(columnSpec('s', 'string', 'varchar(10)'), now)).toEqual([null, null, null]);
  });

  it('carries no timestamp constant, bytes, bits, expression, or anything unknown', () => {
    expect(inEach(columnSpec('ts', 'timestamp', 'timestamp'), value('2020-01-01 00:00:00'))).toEqual([null, null, null]);
    expect(inEach(columnSpec('b', 'binary', 'varbinary(4)'), value('ab'))).toEqual([null, null, null]);
    expect(inEach(columnSpec('bt', 'bit', 'bit(1)'), value('1'))).toEqual([null, null, null]);
    expect(inEach(columnSpec('u', 'string', 'varchar(36)'), { kind: 'expression', sql: 'uuid()' })).toEqual([null, null, null]);
    expect(inEach(columnSpec('n', 'int', 'int(11)'), undefined)).toEqual([null, null, null]);
    expect(inEach(columnSpec('n', 'int', 'int(11)'), null)).toEqual([null, null, null]);
    expect(inEach(columnSpec('n', 'int', 'int(11)'), { kind: 'value', value: 5 } as unknown as ColumnDefault)).toEqual([null, null, null]);
    expect(defaultSql('postgres', undefined, value('5'))).toBeNull();
  });
});

describe('defaultClause and alterDefaultAction', () => {
  it("write a column's DEFAULT, or nothing", () => {
    expect(defaultClause('postgres', columnSpec('n', 'int', 'int(11)', { default: value('7') }))).toBe(' DEFAULT 7');
    expect(defaultClause('sqlite', columnSpec('n', 'int', 'int(11)'))).toBe('');
    expect(defaultClause('mysql', columnSpec('u', 'string', 'varchar(36)', { default: { kind: 'expression', sql: 'uuid()' } }))).toBe('');
  });

  it('set the default, or drop it when the change drops it or the dialect cannot say it', () => {
    const status = columnSpec('status', 'string', 'varchar(10)');
    expect(alterDefaultAction('postgres', quoteAnsi, { column: 'status', default: value('new'), spec: status })).toBe(`ALTER COLUMN "status" SET DEFAULT 'new'`);
    expect(alterDefaultAction('mysql', quoteMysql, { column: 'status', default: value('new'), spec: status })).toBe("ALTER COLUMN `status` SET DEFAULT 'new'");
    expect(alterDefaultAction('mysql', quoteMysql, { column: 'status', default: null, spec: status })).toBe('ALTER COLUMN `status` DROP DEFAULT');
    expect(alterDefaultAction('postgres', quoteAnsi, { column: 'status', default: { kind: 'expression', sql: 'uuid()' }, spec: status })).toBe('ALTER COLUMN "status" DROP DEFAULT');
    expect(alterDefaultAction('postgres', quoteAnsi, { column: 'status', default: value('new') })).toBe('ALTER COLUMN "status" DROP DEFAULT'); // no type known
  });

  it('leave no ? in a PostgreSQL literal, which knex would take for a placeholder', () => {
    expect(postgresString('a?b??')).toBe("E'a\\x3fb\\x3f\\x3f'");
    expect(postgresString('\\?')).toBe("E'\\\\\\x3f'");
  });
});

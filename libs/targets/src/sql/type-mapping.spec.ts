import { ColumnSpec } from '@tributary/model';
import { TargetConfigError } from '../errors';
import { mysqlColumnType, postgresArrayType, postgresColumnType, postgresKeyArrayType, sqliteColumnCheck, sqliteColumnType } from './type-mapping';

const column = (over: Partial<ColumnSpec>): ColumnSpec => ({
  name: 'c', type: 'string', dataType: 'varchar', columnType: 'varchar(10)', nullable: true,
  unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null, ...over,
});

describe('postgresColumnType', () => {
  it('chooses an integer type wide enough for the MySQL range, unsigned included', () => {
    expect(postgresColumnType(column({ type: 'int', dataType: 'tinyint', unsigned: true }))).toBe('smallint');
    expect(postgresColumnType(column({ type: 'int', dataType: 'smallint', unsigned: true }))).toBe('integer');
    expect(postgresColumnType(column({ type: 'int', dataType: 'mediumint', unsigned: true }))).toBe('integer');
    expect(postgresColumnType(column({ type: 'int', dataType: 'int', unsigned: false }))).toBe('integer');
    expect(postgresColumnType(column({ type: 'int', dataType: 'int', unsigned: true }))).toBe('bigint');
    expect(postgresColumnType(column({ type: 'bigint', dataType: 'bigint', unsigned: true }))).toBe('numeric(20,0)');
    expect(postgresColumnType(column({ type: 'bigint', dataType: 'bigint' }))).toBe('bigint');
  });

  it('maps time to interval, timestamps by zone, char to varchar', () => {
    expect(postgresColumnType(column({ type: 'time', fsp: 3 }))).toBe('interval(3)');
    expect(postgresColumnType(column({ type: 'datetime', fsp: 6 }))).toBe('timestamp(6) without time zone');
    expect(postgresColumnType(column({ type: 'timestamp', fsp: null }))).toBe('timestamp(0) with time zone');
    expect(postgresColumnType(column({ dataType: 'char', length: 3 }))).toBe('varchar(3)');
    expect(postgresColumnType(column({ dataType: 'mediumtext', length: 16777215 }))).toBe('text');
    expect(postgresColumnType(column({ type: 'decimal', precision: 30, scale: 10 }))).toBe('numeric(30,10)');
    expect(postgresColumnType(column({ type: 'bit', length: 64 }))).toBe('bit(64)');
    expect(postgresColumnType(column({ type: 'json' }))).toBe('jsonb');
  });
});

describe('postgresArrayType', () => {
  it('is the column type without its typmod, so the assignment cast checks and rounds as for one value', () => {
    expect(postgresArrayType(column({ dataType: 'varchar', length: 5 }))).toBe('text'); // varchar(5)[] would cut silently
    expect(postgresArrayType(column({ type: 'bit', length: 10 }))).toBe('varbit'); // bit(10)[] would pad, bit[] is bit(1)
    expect(postgresArrayType(column({ type: 'decimal', precision: 30, scale: 10 }))).toBe('numeric');
    expect(postgresArrayType(column({ type: 'bigint', unsigned: true }))).toBe('numeric');
    expect(postgresArrayType(column({ type: 'bigint' }))).toBe('bigint');
    expect(postgresArrayType(column({ type: 'int', dataType: 'tinyint', unsigned: true }))).toBe('smallint');
    expect(postgresArrayType(column({ type: 'int', dataType: 'int', unsigned: true }))).toBe('bigint');
    expect(postgresArrayType(column({ type: 'datetime', fsp: 6 }))).toBe('timestamp');
    expect(postgresArrayType(column({ type: 'timestamp', fsp: 6 }))).toBe('timestamptz');
    expect(postgresArrayType(column({ type: 'time', fsp: 3 }))).toBe('interval');
    expect(postgresArrayType(column({ type: 'float' }))).toBe('real');
    expect(postgresArrayType(column({ type: 'double' }))).toBe('double precision');
    expect(postgresArrayType(column({ type: 'binary' }))).toBe('bytea');
    expect(postgresArrayType(column({ type: 'json' }))).toBe('jsonb');
    expect(postgresArrayType(column({ type: 'set' }))).toBe('text');
  });

  it('matches bit keys as bit(n), so the primary key index is used', () => {
    expect(postgresKeyArrayType(column({ type: 'bit', length: 3 }))).toBe('bit(3)');
    expect(postgresKeyArrayType(column({ dataType: 'varchar', length: 5 }))).toBe('text');
  });
});

describe('mysqlColumnType', () => {
  it('keeps the source column type', () => {
    expect(mysqlColumnType(column({ type: 'bigint', columnType: 'bigint(20) unsigned' }))).toBe('bigint(20) unsigned');
    expect(mysqlColumnType(column({ type: 'decimal', columnType: 'decimal(30,10)' }))).toBe('decimal(30,10)');
    expect(mysqlColumnType(column({ type: 'json', columnType: 'longtext' }))).toBe('JSON');
  });

  it('rebuilds enum and set from their members, quoted', () => {
    expect(mysqlColumnType(column({ type: 'enum', columnType: 'ignored', members: ['a', "it's", 'back\\slash'] }))).toBe(
      "enum('a','it''s','back\\\\slash')",
    );
  });

  it('refuses a column type that is not a plain type (invariant 10)', () => {
    expect(() => mysqlColumnType(column({ columnType: 'int) ; DROP TABLE x; --' }))).toThrow(TargetConfigError);
    expect(() => mysqlColumnType(column({ type: 'enum', members: [] }))).toThrow(TargetConfigError);
  });
});

describe('sqliteColumnType', () => {
  it('keeps the awkward MySQL types exact: unsigned BIGINT, DECIMAL, DATETIME(6), BIT, SET, JSON, binary', () => {
    expect(sqliteColumnType(column({ type: 'bigint', dataType: 'bigint' }))).toBe('INTEGER');
    expect(sqliteColumnType(column({ type: 'bigint', dataType: 'bigint', unsigned: true }))).toBe('TEXT'); // beyond 2^63
    expect(sqliteColumnType(column({ type: 'int', dataType: 'int', unsigned: true }))).toBe('INTEGER');
    expect(sqliteColumnType(column({ type: 'decimal', precision: 30, scale: 10 }))).toBe('TEXT');
    expect(sqliteColumnType(column({ type: 'float' }))).toBe('REAL');
    expect(sqliteColumnType(column({ type: 'double' }))).toBe('REAL');
    expect(sqliteColumnType(column({ type: 'datetime', fsp: 6 }))).toBe('TEXT');
    expect(sqliteColumnType(column({ type: 'time', fsp: 3 }))).toBe('TEXT');
    expect(sqliteColumnType(column({ type: 'bit', length: 64 }))).toBe('TEXT');
    expect(sqliteColumnType(column({ type: 'set', members: ['a', 'b'] }))).toBe('TEXT');
    expect(sqliteColumnType(column({ type: 'json' }))).toBe('TEXT');
    expect(sqliteColumnType(column({ type: 'binary', dataType: 'varbinary' }))).toBe('BLOB');
    expect(sqliteColumnType(column({ type: 'year' }))).toBe('INTEGER');
  });

  it('checks what SQLite would not: lengths, bits, JSON, unsigned digits', () => {
    expect(sqliteColumnCheck(column({ dataType: 'varchar', length: 5 }), '"c"')).toBe('length("c") <= 5');
    expect(sqliteColumnCheck(column({ dataType: 'mediumtext', length: 16777215 }), '"c"')).toBeNull();
    expect(sqliteColumnCheck(column({ type: 'bit', length: 10 }), '"c"')).toBe(`length("c") = 10 AND "c" NOT GLOB '*[^01]*'`);
    expect(sqliteColumnCheck(column({ type: 'json' }), '"c"')).toBe('json_valid("c")');
    expect(sqliteColumnCheck(column({ type: 'bigint', unsigned: true }), '"c"')).toMatch(/NOT GLOB '\*\[\^0-9\]\*'/);
    expect(sqliteColumnCheck(column({ type: 'decimal', precision: 5, scale: 2 }), '"c"')).toBeNull();
  });
});

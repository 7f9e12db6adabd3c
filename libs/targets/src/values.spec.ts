import { ColumnSpec } from '@tributary/model';
import { RowRejectedError } from './errors';
import { postgresArrayLiteral } from './postgres/postgres-values';
import { bitsToUnsigned, requireInteger, bufferToBits, normaliseDateTime, requireBits, requireDecimal, secondsToTime, withFraction } from './values';

const column = (over: Partial<ColumnSpec>): ColumnSpec => ({
  name: 'c', type: 'string', dataType: 'varchar', columnType: 'varchar(10)', nullable: true,
  unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null, ...over,
});

describe('value forms', () => {
  it('formats exact seconds as MySQL TIME with the column fsp', () => {
    expect(secondsToTime('-3020399.123000', 3)).toBe('-838:59:59.123');
    expect(secondsToTime('90000.500000', 3)).toBe('25:00:00.500');
    expect(secondsToTime('-1.000000', 3)).toBe('-00:00:01.000');
    expect(secondsToTime('-0.250000', 2)).toBe('-00:00:00.25');
    expect(secondsToTime('0', 0)).toBe('00:00:00');
    expect(secondsToTime('-0.000000', 3)).toBe('00:00:00.000');
  });

  it('pads date-time fractions to the fsp and accepts only a zero UTC offset', () => {
    const ts = column({ type: 'timestamp', fsp: 6 });
    expect(normaliseDateTime(ts, '2024-01-02 03:04:05.1+00')).toBe('2024-01-02 03:04:05.100000');
    expect(normaliseDateTime(ts, '2024-01-02 03:04:05+00')).toBe('2024-01-02 03:04:05.000000');
    expect(normaliseDateTime(column({ type: 'datetime', fsp: 0 }), '2024-01-02 03:04:05')).toBe('2024-01-02 03:04:05');
    expect(() => normaliseDateTime(ts, '2024-01-02 03:04:05+02')).toThrow(/non-UTC/);
    expect(withFraction('x', '123456', 3)).toBe('x.123');
  });

  it('converts BIT text to its number and BIT bytes back to text', () => {
    expect(bitsToUnsigned('0101')).toBe('5');
    expect(bitsToUnsigned('1'.repeat(64))).toBe('18446744073709551615');
    expect(bufferToBits(Buffer.from([0x02, 0x01]), 10)).toBe('1000000001');
    expect(bufferToBits(Buffer.from('ffffffffffffffff', 'hex'), 64)).toBe('1'.repeat(64));
  });

  it('refuses values of the wrong shape as rows, naming the column but not the value', () => {
    expect(() => requireBits(column({ name: 'b', type: 'bit', length: 4 }), '012')).toThrow(RowRejectedError);
    expect(() => requireBits(column({ name: 'b', type: 'bit', length: 4 }), '01')).toThrow(/column b/);
    expect(() => requireDecimal(column({ type: 'decimal' }), 12.5)).toThrow(/column c \(decimal\): expected a string, got number/);
    expect(() => requireDecimal(column({ type: 'decimal' }), '1e5')).toThrow(/expected a decimal string/);
    expect(requireDecimal(column({ type: 'decimal' }), '-1.50')).toBe('-1.50');
    expect(() => requireInteger(column({ type: 'int' }), 1.5)).toThrow(/expected an integer/);
    expect(requireInteger(column({ type: 'int' }), -7)).toBe(-7);
  });
});

describe('postgresArrayLiteral', () => {
  it('quotes every text element and escapes backslashes and quotes, so array syntax inside a value stays data', () => {
    expect(postgresArrayLiteral(['a', null, 'NULL', '', 'x,y', '{}', 'b"c', 'd\\e', ' s '])).toBe(
      '{"a",NULL,"NULL","","x,y","{}","b\\"c","d\\\\e"," s "}',
    );
  });

  it('writes numbers and booleans bare and bytes as bytea hex', () => {
    expect(postgresArrayLiteral([1, -2.5, 1e21, true, false])).toBe('{1,-2.5,1e+21,t,f}');
    expect(postgresArrayLiteral([Buffer.from([0, 255]), Buffer.alloc(0)])).toBe('{"\\\\x00ff","\\\\x"}');
    expect(postgresArrayLiteral([])).toBe('{}');
  });
});

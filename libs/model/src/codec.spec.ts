import { ColumnSpec, decodeValue, encodeValue, epochToUtc, keyHash } from '@tributary/model';

const column = (over: Partial<ColumnSpec>): ColumnSpec => ({
  name: 'c', type: 'string', dataType: 'varchar', columnType: 'varchar(10)', nullable: true,
  unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null, ...over,
});

describe('codec', () => {
  it('converts TIMESTAMP epochs to UTC with the column precision', () => {
    expect(epochToUtc('1704164645.123456', 6)).toBe('2024-01-02 03:04:05.123456');
    expect(epochToUtc('1704164645.12', 3)).toBe('2024-01-02 03:04:05.120');
    expect(epochToUtc('1704164645', 0)).toBe('2024-01-02 03:04:05');
  });

  it('pads BIT values to the column width and decodes base64 binary', () => {
    expect(decodeValue(column({ type: 'bit', length: 10 }), '101')).toBe('0000000101');
    expect(decodeValue(column({ type: 'binary' }), 'AP8Q')).toEqual(Buffer.from([0, 255, 16]));
    expect(decodeValue(column({ type: 'binary' }), null)).toBeNull();
  });

  it('refuses a value of the wrong wire type instead of guessing', () => {
    expect(() => decodeValue(column({ type: 'int' }), '12')).toThrow(/expected a number/);
  });

  it('hashes equal keys equally and different tables differently', () => {
    expect(keyHash('t', ['id'], { id: 1 })).toBe(keyHash('t', ['id'], { id: 1, x: 2 }));
    expect(keyHash('t', ['id'], { id: 1 })).not.toBe(keyHash('u', ['id'], { id: 1 }));
    expect(keyHash('t', ['id'], { id: 1 })).not.toBe(keyHash('t', ['id'], { id: '1' }));
  });
});

describe('encodeValue', () => {
  it('is the inverse of decodeValue for every wire form', () => {
    const cases: Array<[Partial<ColumnSpec>, unknown]> = [
      [{ type: 'int' }, -12],
      [{ type: 'bigint' }, '18446744073709551615'],
      [{ type: 'decimal' }, '-12345678901234567890.000000001'],
      [{ type: 'timestamp', fsp: 6 }, '1704164645.123456'],
      [{ type: 'timestamp', fsp: 0 }, '0'],
      [{ type: 'binary' }, 'AP8Q'],
      [{ type: 'bit', length: 4 }, '0101'],
      [{ type: 'string' }, 'ünï'],
      [{ type: 'int' }, null],
    ];
    for (const [over, wire] of cases) {
      const spec = column(over);
      expect(encodeValue(spec, decodeValue(spec, wire))).toEqual(wire);
    }
  });
});

import { parseColumnDefault } from './column-default';

describe('parseColumnDefault (information_schema.COLUMN_DEFAULT as MariaDB writes it)', () => {
  it('reads no default from SQL NULL and from the text NULL', () => {
    expect(parseColumnDefault(null)).toBeUndefined();
    expect(parseColumnDefault('NULL')).toBeUndefined();
  });

  it('reads string literals unquoted, with doubled quotes and escapes undone', () => {
    expect(parseColumnDefault("'open'")).toEqual({ kind: 'value', value: 'open' });
    expect(parseColumnDefault("''")).toEqual({ kind: 'value', value: '' });
    expect(parseColumnDefault("'it''s \\\\ x'")).toEqual({ kind: 'value', value: "it's \\ x" });
    expect(parseColumnDefault("'NULL'")).toEqual({ kind: 'value', value: 'NULL' });
    expect(parseColumnDefault("'2020-01-02'")).toEqual({ kind: 'value', value: '2020-01-02' });
  });

  it('reads numbers as written, the time of the write, and anything else as an expression', () => {
    expect(parseColumnDefault('5')).toEqual({ kind: 'value', value: '5' });
    expect(parseColumnDefault('-1.50')).toEqual({ kind: 'value', value: '-1.50' });
    expect(parseColumnDefault('current_timestamp()')).toEqual({ kind: 'now' });
    expect(parseColumnDefault('current_timestamp(3)')).toEqual({ kind: 'now' });
    expect(parseColumnDefault('uuid()')).toEqual({ kind: 'expression', sql: 'uuid()' });
    expect(parseColumnDefault("b'1'")).toEqual({ kind: 'expression', sql: "b'1'" });
    expect(parseColumnDefault('(1 + 2)')).toEqual({ kind: 'expression', sql: '(1 + 2)' });
  });
});

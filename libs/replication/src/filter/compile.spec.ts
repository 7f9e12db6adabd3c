import { Row } from '@tributary/model';
import { compileFilter, compareDecimal, FilterError } from '../index';
import { column as col } from '@tributary/testing/fixtures';


const columns = [
  col('id', 'int'),
  col('status', 'string'),
  col('region', 'string'),
  col('amount', 'decimal', { precision: 12, scale: 2 }),
  col('big', 'bigint'),
  col('score', 'double'),
  col('created', 'datetime', { fsp: 6 }),
  col('day', 'date'),
  col('photo', 'binary'),
  col('note', 'string'),
];

const row: Row = {
  id: 7, status: 'active', region: 'EU', amount: '150.00', big: '9007199254740993', score: 2.5,
  created: '2024-03-01 10:00:00.000000', day: '2024-03-01', photo: Buffer.from('x'), note: null,
};

describe('compileFilter', () => {
  it.each<[string, boolean]>([
    ["status = 'active' and region in ('EU', 'UK') and amount >= 100", true],
    ["status = 'active' AND region IN ('US') OR amount >= 100", true],
    ["status = 'active' and (region in ('US') or amount < 100)", false],
    ["region not in ('US', 'UK')", true],
    ["region NOT IN ('EU')", false],
    ['amount = 150', true],
    ['amount = 150.001', false],
    ["amount > '149.999999999999999999'", true],
    ['big > 9007199254740992', true],
    ['big = 9007199254740993', true],
    ['big < -1', false],
    ['score >= 2.5 and score < 3', true],
    ['id <> 7', false],
    ['id != 8', true],
    ['id = -7', false],
    ["created >= '2024-03-01 10:00:00'", true],
    ["created = '2024-03-01 10:00:00'", true],
    ["created > '2024-03-01'", true],
    ["day = '2024-03-01'", true],
    ['note is null', true],
    ['note is not null', false],
    ["note = 'x'", false],
    ["not note = 'x'", false],
    ["note != 'x'", false],
    ["note in ('x') or id = 7", true],
    ["note not in ('x')", false],
    ["region not in ('US', null)", false],
    ["not status = 'gone'", true],
    ["not (status = 'active' and id = 7)", false],
    ["status like 'act%'", true],
    ["status like 'a_tive'", true],
    ["status like 'ACT%'", false],
    ["status not like '%x%'", true],
    ["note like '%'", false],
    ['true', true],
    ['id = 7 and false', false],
    ["status = 'it''s'", false],
    ['`id` = 7', true],
  ])('%s → %s', (text, expected) => {
    expect(compileFilter(text, columns).evaluate(row)).toBe(expected);
  });

  it.each<[string, string, number | null]>([
    ["regoin = 'EU'", 'unknown column "regoin"', 0],
    ["status = 'a' and regoin in ('EU')", 'unknown column "regoin"', 17],
    ["status = 'a' and", 'syntax error', null],
    ["status = 'a", 'unterminated string', 9],
    ['status = "a"', 'single quotes', 9],
    ["status == 'a'", 'syntax error', 8],
    ['amount = 1; drop table x', 'unexpected character ";"', 10],
    ["lower(status) = 'a'", 'functions are not supported', 0],
    ["region in 'EU'", "'in' needs a parenthesized list", 7],
    ["amount = 'lots'", 'expected a number', 9],
    ["status = 5", 'expected a string', 9],
    ['photo is null', 'binary', 0],
    ["id = 1 and status", 'expected a condition', null],
    ['id + 1 = 2', 'unexpected character "+"', 3],
    ['', 'empty', 0],
    ["status like 5", "'like' needs a string pattern", 12],
    ['a.b = 1', 'unexpected character "."', 1],
    ["region in ('EU'", 'syntax error: Unclosed (', 15],
    ['amount between 1 and 2', 'expected an operator', null],
  ])('refuses %s', (text, reason, position) => {
    let error: unknown;
    try {
      compileFilter(text, columns);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FilterError);
    expect((error as FilterError).reason).toContain(reason);
    if (position !== null) expect((error as FilterError).position).toBe(position);
  });

  it('names the columns it reads', () => {
    expect(compileFilter("region in ('EU') and amount >= 100", columns).columns).toEqual(['region', 'amount']);
  });
});

describe('compareDecimal', () => {
  it.each<[string, string, number]>([
    ['1', '1.000', 0],
    ['-0', '0', 0],
    ['10', '9.999', 1],
    ['-10', '-9', -1],
    ['18446744073709551615', '18446744073709551614', 1],
    ['0.1', '0.10000000000000000001', -1],
  ])('%s vs %s', (a, b, c) => expect(compareDecimal(a, b)).toBe(c));
});

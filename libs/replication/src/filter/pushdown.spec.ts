import { FilterError, filterToMysql } from '../index';
import { normalizeDecimal } from './pushdown';
import { column as col } from '@tributary/testing/fixtures';


const columns = [
  col('id', 'int'),
  col('status', 'string'),
  col('amount', 'decimal', { precision: 30, scale: 10 }),
  col('big', 'bigint'),
  col('score', 'double'),
  col('ratio', 'float'),
  col('yr', 'year'),
  col('created', 'datetime', { fsp: 6 }),
  col('kind', 'enum', { members: ['a', 'b'] }),
  col('doc', 'json'),
  col('photo', 'binary'),
  col('order', 'string'),
  col('$price', 'int'),
];

const push = (text: string, alias?: string) => filterToMysql(text, columns, alias);

describe('filterToMysql', () => {
  it.each<[string, string, Array<string | number | null>]>([
    ['id = 5', '`id` = CAST(? AS DOUBLE)', ['5']],
    ['id >= 2.5', '`id` >= CAST(? AS DOUBLE)', ['2.5']],
    ['id < -3', '`id` < CAST(? AS DOUBLE)', ['-3']],
    ['id != 1', '`id` <> CAST(? AS DOUBLE)', ['1']],
    ['5 < id', 'CAST(? AS DOUBLE) < `id`', ['5']],
    ['score <= 0.1', '`score` <= CAST(? AS DOUBLE)', ['0.1']],
    ['id = true', '`id` = CAST(? AS DOUBLE)', ['1']],
    ['amount > 123456789012345678901.000000001', '`amount` > CAST(? AS DECIMAL(30,9))', ['123456789012345678901.000000001']],
    ["amount = '-0007.50'", '`amount` = CAST(? AS DECIMAL(2,1))', ['-7.5']],
    ["amount = '.5'", '`amount` = CAST(? AS DECIMAL(1,1))', ['0.5']],
    ['big = 18446744073709551615', '`big` = CAST(? AS DECIMAL(20,0))', ['18446744073709551615']],
    ['big < 0', '`big` < CAST(? AS DECIMAL(1,0))', ['0']],
    ['big = amount', '`big` = `amount`', []],
    ['id < score', '`id` < `score`', []],
    ["status = 'active'", '`status` = ?', ['active']],
    ["'active' = status", '? = `status`', ['active']],
    ["kind = 'a'", '`kind` = ?', ['a']],
    ["status in ('a', 'b')", '(`status` = ?) OR (`status` = ?)', ['a', 'b']],
    ['id in (1, 2, 3)', '((`id` = CAST(? AS DOUBLE)) OR (`id` = CAST(? AS DOUBLE))) OR (`id` = CAST(? AS DOUBLE))', ['1', '2', '3']],
    ['id not in (1, 2)', 'NOT ((`id` = CAST(? AS DOUBLE)) OR (`id` = CAST(? AS DOUBLE)))', ['1', '2']],
    ['id in (1, null)', '(`id` = CAST(? AS DOUBLE)) OR (NULL)', ['1']],
    ['status is null', '`status` IS NULL', []],
    ['doc is not null', '`doc` IS NOT NULL', []],
    ['created is null', '`created` IS NULL', []],
    ['not id is null', 'NOT (`id` IS NULL)', []],
    ['id = null', 'NULL', []],
    ['not id = null', 'NOT (NULL)', []],
    ['false', 'FALSE', []],
    ['not true', 'FALSE', []],
    ['id > 1 and 1 = 2', '(`id` > CAST(? AS DOUBLE)) AND (FALSE)', ['1']],
    ["id = 1 and status = 'x' or big > 2", '((`id` = CAST(? AS DOUBLE)) AND (`status` = ?)) OR (`big` > CAST(? AS DECIMAL(1,0)))', ['1', 'x', '2']],
    ['not (id > 1 and big < 5)', 'NOT ((`id` > CAST(? AS DOUBLE)) AND (`big` < CAST(? AS DECIMAL(1,0))))', ['1', '5']],
    // Untranslatable parts of an AND become TRUE and drop out.
    ["id = 1 and status like 'a%'", '`id` = CAST(? AS DOUBLE)', ['1']],
    ["status != 'x' and big = 1", '`big` = CAST(? AS DECIMAL(1,0))', ['1']],
    ["status < 'm' and id > 0", '`id` > CAST(? AS DOUBLE)', ['0']],
    ['ratio = 0.5 and id = 2', '`id` = CAST(? AS DOUBLE)', ['2']],
    ["created > '2024-01-01' and id = 2", '`id` = CAST(? AS DOUBLE)', ['2']],
    ['id = 1 and true', '`id` = CAST(? AS DOUBLE)', ['1']],
    // Odd column names are quoted.
    ["`order` = 'x' and `$price` > 3", '(`order` = ?) AND (`$price` > CAST(? AS DOUBLE))', ['x', '3']],
  ])('%s', (text, sql, bindings) => {
    expect(push(text)).toEqual({ sql, bindings });
  });

  it.each([
    "status like 'a%'",
    "status not like 'a%'",
    "status != 'x'",
    "status > 'x'",
    "status not in ('x')",
    "not status = 'x'",
    'ratio = 0.5',
    'yr = 70',
    "created = '2024-01-01'",
    'created is not null',
    'not created is null',
    "doc = '{}'",
    'status = `order`',
    "id = 1 or status like 'a%'",
    "not (id = 1 and status = 'a')",
    'true',
    'id = 1 or true',
    '1 = 1',
    "'a' < 'b'",
    'null is null',
    `amount = 1${'0'.repeat(65)}`,
    `amount = 0.${'0'.repeat(38)}1`,
  ])('%s → nothing to push down', (text) => {
    expect(push(text)).toBeNull();
  });

  it('keeps the translated side of an AND whose other side is not exact, but not its negation', () => {
    expect(push("id = 1 and status = 'a'")).toEqual({ sql: '(`id` = CAST(? AS DOUBLE)) AND (`status` = ?)', bindings: ['1', 'a'] });
    expect(push("not (id = 1 and status like 'a')")).toBeNull();
    expect(push("not (id = 1 or status like 'a')")).toBeNull();
    expect(push("id = 2 and not (id = 1 and status like 'a')")).toEqual({ sql: '`id` = CAST(? AS DOUBLE)', bindings: ['2'] });
  });

  it('evaluates literal-only comparisons as compile.ts does', () => {
    expect(push('2 < 10 and id = 1')).toEqual({ sql: '`id` = CAST(? AS DOUBLE)', bindings: ['1'] });
    expect(push("'2' < '10'")).toEqual({ sql: 'FALSE', bindings: [] });
    expect(push('100000000000000000001 > 100000000000000000000')).toBeNull();
    expect(push('100000000000000000001 = 100000000000000000000')).toEqual({ sql: 'FALSE', bindings: [] });
    expect(push('5 is null')).toEqual({ sql: 'FALSE', bindings: [] });
  });

  it('qualifies columns with the alias', () => {
    expect(push('id = 1 and `order` is null', 't')).toEqual({ sql: '(`t`.`id` = CAST(? AS DOUBLE)) AND (`t`.`order` IS NULL)', bindings: ['1'] });
  });

  it('binds literals and never writes them into the SQL', () => {
    const result = push("status = 'x'' or 1=1 --' and amount = 1.5")!;
    expect(result.sql).toBe('(`status` = ?) AND (`amount` = CAST(? AS DECIMAL(2,1)))');
    expect(result.bindings).toEqual(["x' or 1=1 --", '1.5']);
  });

  it('refuses what compileFilter refuses', () => {
    expect(() => push('nope = 1')).toThrow(FilterError);
    expect(() => push("id = 'x'")).toThrow(FilterError);
    expect(() => push("photo = 'x'")).toThrow(FilterError);
  });

  it('sizes DECIMAL casts to the literal', () => {
    expect(normalizeDecimal('000')).toEqual({ text: '0', precision: 1, scale: 0 });
    expect(normalizeDecimal('-0.000')).toEqual({ text: '0', precision: 1, scale: 0 });
    expect(normalizeDecimal('+12.3400')).toEqual({ text: '12.34', precision: 4, scale: 2 });
    expect(normalizeDecimal('-.0001')).toEqual({ text: '-0.0001', precision: 4, scale: 4 });
    expect(normalizeDecimal('1e5')).toBeNull();
    expect(normalizeDecimal('9'.repeat(65))).toEqual({ text: '9'.repeat(65), precision: 65, scale: 0 });
    expect(normalizeDecimal('9'.repeat(66))).toBeNull();
  });
});

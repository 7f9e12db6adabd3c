import { compileMapping, MappingError, microsToUtc, RouteMapping, sourceKeyColumn } from '../index';
import { column as col } from '@tributary/testing/fixtures';

const columns = [col('id', 'int'), col('name'), col('secret'), col('amount', 'decimal')];
const change = { source: 'shop', table: 'orders', seq: 42, op: 'update' as const, ts: 1704164645123456 };

describe('compileMapping', () => {
  it('is the identity without a mapping', () => {
    const m = compileMapping(null, columns, ['id']);
    expect(m.columns.map((c) => c.name)).toEqual(['id', 'name', 'secret', 'amount']);
    expect(m.mapRow({ id: 1, name: 'a', secret: 's', amount: '1.5' }, change)).toEqual({ id: 1, name: 'a', secret: 's', amount: '1.5' });
  });

  it('excludes, renames and adds computed columns', () => {
    const m = compileMapping(
      {
        exclude: ['secret'],
        rename: { id: 'order_id', name: 'title' },
        computed: [
          { name: 'src', value: 'source' },
          { name: 'tbl', value: 'table' },
          { name: 'changed_at', value: 'change_ts' },
          { name: 'version', value: 'seq' },
          { name: 'last_op', value: 'op' },
          { name: 'tenant', value: { constant: 'acme' } },
          { name: 'flag', value: { constant: true } },
        ],
      },
      columns,
      ['id'],
    );
    expect(m.key).toEqual(['order_id']);
    expect(m.columns.map((c) => `${c.name}:${c.columnType}`)).toEqual([
      'order_id:int', 'title:string', 'amount:decimal', 'src:varchar(64)', 'tbl:varchar(64)', 'changed_at:datetime(6)',
      'version:bigint(20)', 'last_op:varchar(64)', 'tenant:text', 'flag:tinyint(1)',
    ]);
    expect(m.mapRow({ id: 1, name: 'a', secret: 's', amount: '1.5' }, change)).toEqual({
      order_id: 1, title: 'a', amount: '1.5', src: 'shop', tbl: 'orders', changed_at: '2024-01-02 03:04:05.123456',
      version: '42', last_op: 'update', tenant: 'acme', flag: 1,
    });
    expect(m.mapKey({ id: 1 }, change)).toEqual({ order_id: 1 });
  });

  it('adds computed key columns after the source key: rows of different sources never share a key (fan-in)', () => {
    const mapping: RouteMapping = { computed: [{ name: 'shop', value: 'source', key: true }, { name: 'region', value: { constant: 'eu' }, key: true }] };
    const m = compileMapping(mapping, columns, ['id']);
    expect(m.key).toEqual(['id', 'shop', 'region']);
    expect(m.columns.filter((c) => ['shop', 'region'].includes(c.name)).map((c) => c.nullable)).toEqual([false, false]);
    expect(m.mapKey({ id: 1 }, change)).toEqual({ id: 1, shop: 'shop', region: 'eu' });
    expect(m.mapRow({ id: 1, name: 'a', secret: 's', amount: '1' }, { ...change, source: 'outlet' })).toMatchObject({ id: 1, shop: 'outlet', region: 'eu' });
    expect(sourceKeyColumn(mapping)).toBe('shop');
    expect(sourceKeyColumn({ computed: [{ name: 'shop', value: 'source' }] })).toBeNull();
  });

  it('keeps only included columns', () => {
    expect(compileMapping({ include: ['id', 'amount'] }, columns, ['id']).columns.map((c) => c.name)).toEqual(['id', 'amount']);
  });

  it.each<[unknown, string]>([
    [{ exclude: ['nmae'] }, 'exclude[0]: unknown column "nmae"'],
    [{ rename: { nope: 'x' } }, 'rename.nope: unknown column "nope"'],
    [{ exclude: ['id'] }, 'key column "id" cannot be left out'],
    [{ include: ['name'] }, 'key column "id" cannot be left out'],
    [{ rename: { name: 'secret' } }, 'two target columns are named "secret"'],
    [{ rename: { name: 'bad name' } }, 'invalid column name "bad name"'],
    [{ computed: [{ name: 'x', value: 'now()' }] }, 'computed[0].value: must be one of'],
    [{ computed: [{ name: 'id', value: 'seq' }] }, 'two target columns are named "id"'],
    [{ colums: [] }, 'colums: unknown field'],
    [{ computed: [{ name: 'v', value: 'seq', key: true }] }, 'computed[0].key: a key column must be source, table or a constant that is not null'],
    [{ computed: [{ name: 'v', value: { constant: null }, key: true }] }, 'computed[0].key: a key column must be'],
    [{ computed: [{ name: 'v', value: 'source', key: 'yes' }] }, 'computed[0].key: must be true or false'],
    [['id'], 'must be an object'],
    [{ include: ['id'], exclude: ['name'] }, 'not both'],
  ])('refuses %j', (mapping, message) => {
    expect(() => compileMapping(mapping, columns, ['id'])).toThrow(MappingError);
    expect(() => compileMapping(mapping, columns, ['id'])).toThrow(message);
  });

  it('looks up renames among the mapping\'s own keys only, so columns named like Object members keep their names', () => {
    const odd = [col('id', 'int'), col('constructor'), col('toString'), col('valueOf')];
    const m = compileMapping({ rename: { valueOf: 'worth' } }, odd, ['id']);
    expect(m.columns.map((c) => c.name)).toEqual(['id', 'constructor', 'toString', 'worth']);
    expect(m.mapRow({ id: 1, constructor: 'c', toString: 't', valueOf: 'v' }, change)).toEqual({ id: 1, constructor: 'c', toString: 't', worth: 'v' });
    // A __proto__ key JSON.parse made own is a column name like any other: unknown here.
    expect(() => compileMapping(JSON.parse('{"rename": {"__proto__": "x"}}'), odd, ['id'])).toThrow('rename.__proto__: unknown column "__proto__"');
  });

  it('formats change timestamps in UTC with microseconds', () => {
    expect(microsToUtc(1704164645000001)).toBe('2024-01-02 03:04:05.000001');
  });
});

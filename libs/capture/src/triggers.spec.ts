import { ColumnSpec, InvalidIdentifierError, TableSchema } from '@tributary/model';
import { CaptureError, generateTriggers, schemaHash, triggerNames } from '@tributary/capture';
import { ORIGIN_VARIABLE } from '@tributary/db';
import { parseMembers } from './mysql-types';

const column = (name: string, over: Partial<ColumnSpec> = {}): ColumnSpec => ({
  name, type: 'int', dataType: 'int', columnType: 'int(11)', nullable: false,
  unsigned: false, length: null, precision: null, scale: null, fsp: null, members: null, ...over,
});

const schemaOf = (table: string, columns: ColumnSpec[], key = [columns[0].name]): TableSchema => ({
  table, columns, key, keyKind: 'primary', hash: schemaHash(columns, key),
});

describe('triggerNames', () => {
  it('prefixes trb_ and suffixes the event', () => {
    expect(triggerNames('orders')).toEqual({ insert: 'trb_orders_ai', update: 'trb_orders_au', delete: 'trb_orders_ad' });
  });

  it('keeps long names within 64 characters and unique', () => {
    const a = 'a'.repeat(60) + 'xxxx';
    const b = 'a'.repeat(60) + 'yyyy';
    const names = [...Object.values(triggerNames(a)), ...Object.values(triggerNames(b))];
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(64);
      expect(name.startsWith('trb_aaaa')).toBe(true);
    }
    expect(new Set(names).size).toBe(6);
    expect(triggerNames(a)).toEqual(triggerNames(a));
    // 57 characters is the longest name that fits unchanged.
    expect(triggerNames('t'.repeat(57)).insert).toBe(`trb_${'t'.repeat(57)}_ai`);
    expect(triggerNames('t'.repeat(58)).insert).toMatch(/^trb_t{48}_[0-9a-f]{8}_ai$/);
  });

  it('refuses names that are not identifiers', () => {
    expect(() => triggerNames('a`b')).toThrow(InvalidIdentifierError);
    expect(() => triggerNames("x'; DROP TABLE y; --")).toThrow(InvalidIdentifierError);
  });
});

describe('schemaHash', () => {
  const base = [column('id'), column('name', { type: 'string', dataType: 'varchar', columnType: 'varchar(20)', nullable: true })];

  it('is stable and short hex', () => {
    const hash = schemaHash(base, ['id']);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(schemaHash(base.map((c) => ({ ...c })), ['id'])).toBe(hash);
  });

  it('changes when a column is added, retyped, made NOT NULL, becomes JSON, or the key changes', () => {
    const hash = schemaHash(base, ['id']);
    const variants = [
      schemaHash([...base, column('extra')], ['id']),
      schemaHash([base[0], { ...base[1], columnType: 'varchar(40)' }], ['id']),
      schemaHash([base[0], { ...base[1], nullable: false }], ['id']),
      schemaHash([base[0], { ...base[1], type: 'json' }], ['id']),
      schemaHash(base, ['id', 'name']),
      schemaHash([base[1], base[0]], ['id']),
    ];
    for (const variant of variants) expect(variant).not.toBe(hash);
    expect(new Set(variants).size).toBe(variants.length);
  });
});

describe('generateTriggers', () => {
  const columns: ColumnSpec[] = [
    column('id'),
    column('big', { type: 'bigint', dataType: 'bigint', columnType: 'bigint(20) unsigned', unsigned: true }),
    column('price', { type: 'decimal', dataType: 'decimal', columnType: 'decimal(30,10)', precision: 30, scale: 10 }),
    column('ratio', { type: 'float', dataType: 'float', columnType: 'float' }),
    column('d', { type: 'double', dataType: 'double', columnType: 'double' }),
    column('seen', { type: 'timestamp', dataType: 'timestamp', columnType: 'timestamp(6)', fsp: 6 }),
    column('at', { type: 'datetime', dataType: 'datetime', columnType: 'datetime(6)', fsp: 6 }),
    column('raw', { type: 'binary', dataType: 'blob', columnType: 'blob' }),
    column('flags', { type: 'bit', dataType: 'bit', columnType: 'bit(10)', length: 10 }),
    column('doc', { type: 'json', dataType: 'longtext', columnType: 'longtext' }),
    column('note', { type: 'string', dataType: 'varchar', columnType: 'varchar(20)' }),
    column('Weird$Name'),
  ];
  const schema = schemaOf('order$s', columns);
  const [insert, update, remove] = generateTriggers(schema);

  it('makes one AFTER trigger per event on the quoted table', () => {
    expect([insert.event, update.event, remove.event]).toEqual(['insert', 'update', 'delete']);
    expect(insert.name).toBe('trb_order$s_ai');
    expect(insert.sql).toBe(`CREATE OR REPLACE TRIGGER \`trb_order$s_ai\` AFTER INSERT ON \`order$s\` FOR EACH ROW ${insert.body}`);
    expect(update.sql.startsWith('CREATE OR REPLACE TRIGGER `trb_order$s_au` AFTER UPDATE ON `order$s` FOR EACH ROW INSERT INTO `_tributary_outbox`')).toBe(true);
    expect(remove.sql.startsWith('CREATE OR REPLACE TRIGGER `trb_order$s_ad` AFTER DELETE ON `order$s` FOR EACH ROW ')).toBe(true);
  });

  it('writes the images each event has, with the key from NEW (or OLD for deletes)', () => {
    const values = (body: string) => body.slice(body.indexOf('VALUES (') + 'VALUES ('.length);
    expect(values(insert.body).startsWith("'order$s', 'insert', JSON_OBJECT('id', NEW.`id`), NULL, JSON_OBJECT('id', NEW.`id`, 'big'")).toBe(true);
    expect(values(update.body).startsWith("'order$s', 'update', JSON_OBJECT('id', NEW.`id`), JSON_OBJECT('id', OLD.`id`, ")).toBe(true);
    expect(update.body).toContain(", JSON_OBJECT('id', NEW.`id`, 'big'");
    expect(values(remove.body).startsWith("'order$s', 'delete', JSON_OBJECT('id', OLD.`id`), JSON_OBJECT('id', OLD.`id`, ")).toBe(true);
    expect(remove.body).not.toContain('NEW.');
    expect(insert.body).not.toContain('OLD.');
    for (const trigger of [insert, update, remove]) {
      expect(trigger.body).toContain(`, ${ORIGIN_VARIABLE}, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)), '${schema.hash}')`);
      expect(trigger.body.endsWith(`'${schema.hash}')`)).toBe(true);
    }
  });

  it('uses the wire form of each type', () => {
    const body = insert.body;
    expect(body).toContain("'big', CAST(NEW.`big` AS CHAR CHARACTER SET utf8mb4)");
    expect(body).toContain("'price', CAST(NEW.`price` AS CHAR CHARACTER SET utf8mb4)");
    expect(body).toContain("'ratio', CAST(NEW.`ratio` AS DOUBLE)");
    expect(body).toContain("'d', NEW.`d`,");
    expect(body).toContain("'seen', CAST(UNIX_TIMESTAMP(NEW.`seen`) AS CHAR CHARACTER SET utf8mb4)");
    expect(body).toContain("'at', CAST(NEW.`at` AS CHAR CHARACTER SET utf8mb4)");
    expect(body).toContain("'raw', REPLACE(CAST(TO_BASE64(NEW.`raw`) AS CHAR CHARACTER SET utf8mb4), CHAR(10 USING utf8mb4), '')");
    expect(body).toContain("'flags', BIN(NEW.`flags`)");
    expect(body).toContain("'doc', CAST(NEW.`doc` AS CHAR CHARACTER SET utf8mb4)");
    expect(body).toContain("'note', CAST(NEW.`note` AS CHAR CHARACTER SET utf8mb4)");
    expect(body).toContain("'Weird$Name', NEW.`Weird$Name`)");
  });

  it('uses the unique key when that is the key', () => {
    const [ins] = generateTriggers({ ...schemaOf('t', columns, ['big', 'note']), keyKind: 'unique' });
    expect(ins.body).toContain("JSON_OBJECT('big', CAST(NEW.`big` AS CHAR CHARACTER SET utf8mb4), 'note', CAST(NEW.`note` AS CHAR CHARACTER SET utf8mb4)), NULL, ");
  });

  it('refuses what it cannot embed safely', () => {
    expect(() => generateTriggers(schemaOf('t', [column("a'b")]))).toThrow(InvalidIdentifierError);
    expect(() => generateTriggers(schemaOf('t`x', [column('a')]))).toThrow(InvalidIdentifierError);
    expect(() => generateTriggers({ ...schemaOf('t', [column('a')]), hash: "x'); DROP TABLE t; --" })).toThrow(CaptureError);
    expect(() => generateTriggers(schemaOf('t', [column('a')], ['b']))).toThrow(CaptureError);
    expect(() => generateTriggers(schemaOf('t', [column('a')], []))).toThrow(CaptureError);
  });

  it('is pure: the same schema gives the same SQL', () => {
    expect(generateTriggers(schema)).toEqual(generateTriggers(structuredClone(schema)));
  });
});

describe('parseMembers', () => {
  it('reads enum and set members as information_schema prints them', () => {
    expect(parseMembers("enum('a','b')")).toEqual(['a', 'b']);
    expect(parseMembers("enum('a''b','c\\\\d','nl\\nx','x,y','','é')")).toEqual(["a'b", 'c\\d', 'nl\nx', 'x,y', '', 'é']);
    expect(parseMembers("set('p','q')")).toEqual(['p', 'q']);
  });
});

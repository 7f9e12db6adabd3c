import { isWidening } from './type-widening';

describe('isWidening', () => {
  it.each([
    ['varchar(20)', 'varchar(50)'],
    ['character varying(20)', 'varchar(50)'],
    ['varchar(20)', 'text'],
    ['integer', 'bigint'],
    ['smallint', 'integer'],
    ['int(11)', 'bigint(20)'],
    ['int(10) unsigned', 'bigint(20) unsigned'],
    ['bigint', 'numeric(20,0)'],
    ['numeric(10,2)', 'numeric(12,2)'],
    ['numeric(10,2)', 'numeric(11,3)'],
    ['decimal(10,2)', 'decimal(12,4)'],
    ['numeric(10,2)', 'numeric'],
    ['timestamp(0) without time zone', 'timestamp(6) without time zone'],
    ['datetime(3)', 'datetime(6)'],
    ['text', 'mediumtext'],
    ['varbinary(8)', 'varbinary(16)'],
  ])('%s → %s widens', (from, to) => expect(isWidening(from, to)).toBe(true));

  it.each([
    ['varchar(50)', 'varchar(20)'],
    ['varchar(20)', 'varchar(20)'],
    ['character varying(20)', 'varchar(20)'],
    ['int(11)', 'int(10)'],
    ['bigint', 'integer'],
    ['int(11)', 'int(11) unsigned'],
    ['int(10) unsigned', 'bigint(20)'],
    ['numeric(10,2)', 'numeric(10,3)'],
    ['numeric(12,4)', 'numeric(12,2)'],
    ['numeric', 'numeric(30,4)'],
    ['text', 'varchar(100)'],
    ['timestamp(6) without time zone', 'timestamp(6) with time zone'],
    ['varchar(20)', 'integer'],
    ['jsonb', 'text'],
  ])('%s → %s does not', (from, to) => expect(isWidening(from, to)).toBe(false));
});

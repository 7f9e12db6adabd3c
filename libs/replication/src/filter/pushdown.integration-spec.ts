import { ColumnSpec, decodeValue, Row } from '@tributary/model';
import { createMysqlDatabase, TestDatabase } from '@tributary/testing';
import mysql from 'mysql2/promise';
import { compileFilter, filterToMysql } from '../index';
import { column as col } from '@tributary/testing/fixtures';

/**
 * The superset guarantee against real MariaDB: for each filter, every row the
 * JS filter matches (on the row decoded from the capture wire form) is
 * returned by `SELECT ... WHERE <pushdown>`; filters expected to translate
 * exactly must return exactly those rows.
 */

const columns: ColumnSpec[] = [
  col('id', 'int', { nullable: false }),
  col('i', 'int'),
  col('u', 'bigint', { unsigned: true }),
  col('d', 'decimal', { precision: 30, scale: 10 }),
  col('f', 'double'),
  col('r', 'float'),
  col('s', 'string'),
  col('s2', 'string'),
  col('e', 'enum', { members: ['a', 'b', '1', '2'] }),
  col('dt', 'date'),
  col('select', 'int'),
];

/** The capture triggers' wire expression per column (libs/capture wireExpression), decoded with decodeValue. */
const WIRE: Record<string, string> = {
  id: '`id`',
  i: '`i`',
  u: 'CAST(`u` AS CHAR CHARACTER SET utf8mb4)',
  d: 'CAST(`d` AS CHAR CHARACTER SET utf8mb4)',
  f: '`f`',
  r: 'CAST(`r` AS DOUBLE)',
  s: 'CAST(`s` AS CHAR CHARACTER SET utf8mb4)',
  s2: 'CAST(`s2` AS CHAR CHARACTER SET utf8mb4)',
  e: 'CAST(`e` AS CHAR CHARACTER SET utf8mb4)',
  dt: 'CAST(`dt` AS CHAR CHARACTER SET utf8mb4)',
  select: '`select`',
};

const I = [null, 0, 1, -1, 2, 3, -3, 2147483647, -2147483648, 100];
const U = [null, '0', '1', '5', '18446744073709551615', '18446744073709551614', '9007199254740993', '9007199254740992', '12345678901234567890'];
const D = [
  null, '0', '-0.0000000001', '0.0000000001', '1.5', '2.5000000001', '12345678901234567890.1234567890',
  '12345678901234567890.1234567891', '-99999999999999999999.9999999999', '9007199254740993.0000000000',
];
const F = [null, 0, 0.1, 0.30000000000000004, 0.3, 1e300, -1e-300, 2.5, 5e-324, -2.5, 9007199254740992];
const R = [null, 0, 0.1, 0.5, -1.25, 3.4e38];
const S = [null, 'a', 'A', 'a ', ' a', '', 'b', 'é', 'E', '😀', '\uE000', 'abc', 'ABC', 'ß', 'ss', 'x%y'];
const E = [null, 'a', 'b', '1', '2'];
const DT = [null, '2024-01-01', '1999-12-31', '0000-00-00'];

type Expect = 'exact' | 'superset' | 'none';

const FILTERS: Array<[string, Expect]> = [
  ['i = 2', 'exact'],
  ['i > 2.5', 'exact'],
  ['i < -2.5', 'exact'],
  ['i = 2.5', 'exact'],
  ['i >= 0.99999999999999999999', 'exact'],
  ['i in (1, null)', 'exact'],
  ['not (i not in (2, 3))', 'exact'],
  ['u = 18446744073709551615', 'exact'],
  ['u > 9007199254740992', 'exact'],
  ['u = 9007199254740993', 'exact'],
  ['u <= 12345678901234567890 and u > 1', 'exact'],
  ['d = 12345678901234567890.123456789', 'exact'],
  ['d > 12345678901234567890.123456789', 'exact'],
  ['d < -0.00000000005', 'exact'],
  ["d = '1.50'", 'exact'],
  ['d in (1.5, 0, 2.5000000001)', 'exact'],
  ['not d in (1.5, 0)', 'exact'],
  ['d = 9007199254740993', 'exact'],
  ['u = d', 'exact'],
  ['f = 0.1', 'exact'],
  ['f > 0.3 and f < 0.30000000000000004', 'exact'],
  ['f >= 0.30000000000000004 or f < 0.0000001 and f > 0', 'exact'],
  ['f <= 0 and f > -1', 'exact'],
  ['i < f', 'exact'],
  ['f = 9007199254740993', 'exact'],
  ['i is null or u is not null', 'exact'],
  ['not (i is null) and not (d is null)', 'exact'],
  ['not (i > 0 or u < 5)', 'exact'],
  ['not (i = null)', 'exact'],
  ['`select` > 1 and i = `select`', 'exact'],
  ["s = 'a'", 'superset'],
  ["s in ('A', '😀', '\uE000')", 'superset'],
  ["s = 'a '", 'superset'],
  ["s2 = 'ss' or s2 = 'é'", 'superset'],
  ["e = '1'", 'superset'],
  ["e in ('a', '2') and i > 0", 'superset'],
  ["i != 2 and s like 'a%'", 'superset'],
  ['r = 0.1 and i = 1', 'superset'],
  ['dt is null', 'superset'],
  ["not (i = 1 and s = 'a')", 'none'],
  ["s != 'a' or f = 0.1", 'none'],
  ["s < 'b'", 'none'],
  ["s like 'x\\%y'", 'none'],
  ["dt > '2000-01-01'", 'none'],
  ['r > 0.1', 'none'],
];

let db: TestDatabase;
let rows: Row[];
let conn: mysql.Connection;

/** A small deterministic generator so the table is the same on every run. */
function picker(seed: number): <T>(values: readonly T[]) => T {
  let state = seed;
  return (values) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return values[state % values.length];
  };
}

beforeAll(async () => {
  db = await createMysqlDatabase('trb_pushdown');
  await db.knex.raw(`SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'`); // allows the zero date
  await db.knex.raw(`CREATE TABLE t (
    id INT NOT NULL PRIMARY KEY,
    i INT NULL, u BIGINT UNSIGNED NULL, d DECIMAL(30,10) NULL, f DOUBLE NULL, r FLOAT NULL,
    s VARCHAR(20) NULL, s2 VARCHAR(20) COLLATE utf8mb4_general_ci NULL, e ENUM('a','b','1','2') NULL,
    dt DATE NULL, \`select\` INT NULL,
    KEY (i), KEY (u), KEY (d), KEY (f), KEY (r), KEY (s), KEY (s2), KEY (e), KEY (dt)
  )`);
  const pick = picker(7);
  const values: unknown[][] = [];
  const n = 320;
  for (let k = 0; k < n; k++) {
    // The first rows walk through every value of every list; the rest are random combinations.
    const at = <T>(list: readonly T[]) => (k < 20 ? list[k % list.length] : pick(list));
    values.push([k + 1, at(I), at(U), at(D), at(F), at(R), at(S), at(S), at(E), at(DT), at(I)]);
  }
  // Reasonable to bind all these as text: MariaDB converts them for each column exactly.
  const text = (v: unknown) => (v === null ? null : typeof v === 'number' ? String(v) : v);
  for (const chunk of [values.slice(0, 160), values.slice(160)]) {
    await db.knex.transaction(async (trx) => {
      await trx.raw(`SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'`);
      for (const row of chunk) await trx.raw('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', row.map(text) as never);
    });
  }
  const pairs = columns.map((c) => `'${c.name}', ${WIRE[c.name]}`).join(', ');
  const [images] = (await db.knex.raw(`SELECT CAST(JSON_OBJECT(${pairs}) AS CHAR CHARACTER SET utf8mb4) AS image FROM t ORDER BY id`)) as [Array<{ image: string }>, unknown];
  rows = images.map(({ image }) => {
    const raw = JSON.parse(image) as Record<string, unknown>;
    return Object.fromEntries(columns.map((c) => [c.name, decodeValue(c, raw[c.name])]));
  });
  conn = await mysql.createConnection({ uri: db.url, supportBigNumbers: true, bigNumberStrings: true });
});

afterAll(async () => {
  await conn?.end();
  await db?.drop();
});

async function selectIds(sql: string, bindings: Array<string | number | null>, prepared: boolean): Promise<number[]> {
  const query = `SELECT id FROM t AS src WHERE ${sql} ORDER BY id`;
  if (prepared) {
    const [result] = await conn.execute(query, bindings);
    return (result as Array<{ id: number }>).map((r) => r.id);
  }
  const [result] = (await db.knex.raw(query, bindings as never)) as [Array<{ id: number }>, unknown];
  return result.map((r) => r.id);
}

describe('filterToMysql against MariaDB', () => {
  it('has the edge values in the table', () => {
    expect(rows).toHaveLength(320);
    expect(rows.some((r) => r.u === '18446744073709551615')).toBe(true);
    expect(rows.some((r) => r.d === '12345678901234567890.1234567891')).toBe(true);
    expect(rows.some((r) => r.f === 0.30000000000000004)).toBe(true);
    expect(rows.some((r) => r.s === 'a ')).toBe(true);
    expect(rows.some((r) => r.s === '😀')).toBe(true);
    expect(rows.some((r) => r.dt === '0000-00-00')).toBe(true);
  });

  const tally = { exact: 0, superset: 0, none: 0 };

  it.each(FILTERS)('%s (%s)', async (text, expected) => {
    const filter = compileFilter(text, columns);
    const matching = rows.filter((row) => filter.evaluate(row)).map((row) => row.id as number);
    const pushed = filterToMysql(text, columns, 'src');
    if (pushed === null) {
      tally.none++;
      expect(expected).toBe('none');
      return;
    }
    expect(expected).not.toBe('none');
    for (const prepared of [false, true]) {
      const selected = await selectIds(pushed.sql, pushed.bindings, prepared);
      const missing = matching.filter((id) => !selected.includes(id));
      expect({ text, prepared, missing }).toEqual({ text, prepared, missing: [] });
      if (expected === 'exact') expect({ text, prepared, selected }).toEqual({ text, prepared, selected: matching });
      if (!prepared) tally[selected.length === matching.length ? 'exact' : 'superset']++;
    }
  });

  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log(`pushdown: ${FILTERS.length} filters, ${tally.exact} returned exactly the matching rows, ${tally.superset} a strict superset, ${tally.none} not pushed down`);
  });
});

import { LogicalType } from '@tributary/model';

const LOGICAL_TYPES: Readonly<Record<string, LogicalType>> = {
  tinyint: 'int',
  smallint: 'int',
  mediumint: 'int',
  int: 'int',
  integer: 'int',
  bigint: 'bigint',
  decimal: 'decimal',
  numeric: 'decimal',
  float: 'float',
  double: 'double',
  real: 'double',
  date: 'date',
  datetime: 'datetime',
  timestamp: 'timestamp',
  time: 'time',
  year: 'year',
  char: 'string',
  varchar: 'string',
  tinytext: 'string',
  text: 'string',
  mediumtext: 'string',
  longtext: 'string',
  binary: 'binary',
  varbinary: 'binary',
  tinyblob: 'binary',
  blob: 'binary',
  mediumblob: 'binary',
  longblob: 'binary',
  bit: 'bit',
  enum: 'enum',
  set: 'set',
  // MySQL reports JSON as such; MariaDB reports LONGTEXT plus a json_valid check (see introspect).
  json: 'json',
  // MariaDB's own types, carried as their text form (which is what they accept back).
  uuid: 'string',
  inet4: 'string',
  inet6: 'string',
};

/** Types whose values may be declared JSON by a json_valid(`col`) check. */
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/** The logical type for an information_schema DATA_TYPE, or null if capture cannot carry it. */
export function logicalType(dataType: string, hasJsonCheck: boolean): LogicalType | null {
  const lower = dataType.toLowerCase();
  if (hasJsonCheck && TEXT_TYPES.has(lower)) return 'json';
  return LOGICAL_TYPES[lower] ?? null;
}

/**
 * Members of `enum('a','it''s')` / `set(...)` as COLUMN_TYPE shows them:
 * quotes doubled, backslashes (and a few control characters) backslash-escaped.
 */
export function parseMembers(columnType: string): string[] {
  const open = columnType.indexOf('(');
  if (open < 0 || !columnType.endsWith(')')) throw new Error(`not an enum or set type: ${columnType}`);
  const members: string[] = [];
  const text = columnType.slice(open + 1, -1);
  let i = 0;
  while (i < text.length) {
    if (text[i] !== "'") throw new Error(`unexpected ${JSON.stringify(text[i])} in ${columnType}`);
    i += 1;
    let member = '';
    for (;;) {
      if (i >= text.length) throw new Error(`unterminated member in ${columnType}`);
      const char = text[i];
      if (char === "'" && text[i + 1] === "'") {
        member += "'";
        i += 2;
      } else if (char === "'") {
        i += 1;
        break;
      } else if (char === '\\' && i + 1 < text.length) {
        member += unescape(text[i + 1]);
        i += 2;
      } else {
        member += char;
        i += 1;
      }
    }
    members.push(member);
    if (i < text.length) {
      if (text[i] !== ',') throw new Error(`expected , after a member in ${columnType}`);
      i += 1;
    }
  }
  return members;
}

const ESCAPES: Readonly<Record<string, string>> = { '0': '\0', n: '\n', r: '\r', t: '\t', b: '\b', Z: '\x1a' };

function unescape(char: string): string {
  return ESCAPES[char] ?? char;
}

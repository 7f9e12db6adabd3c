/**
 * Whether a column's target type may be changed to the type a newer source
 * schema asks for without losing or refusing any value it holds (issue #17:
 * widening type changes reach the targets). Pure. Anything else — a
 * narrowing, another family — keeps the target's type (values that no
 * longer fit are refused as rows, dead letters).
 */

interface ParsedType {
  /** The type's name, lower case, e.g. `varchar`, `numeric`, `timestamp with time zone`. */
  name: string;
  args: number[];
  unsigned: boolean;
}

function parse(type: string): ParsedType | null {
  const match = /^([a-z ]+?)\s*(?:\((\d+)(?:,\s*(\d+))?\))?((?:\s+[a-z]+)*)$/.exec(type.trim().toLowerCase());
  if (!match) return null;
  const rest = match[4].trim();
  const args = [match[2], match[3]].filter((arg): arg is string => arg !== undefined).map(Number);
  // PostgreSQL writes modifiers after the precision: timestamp(3) with time zone.
  const suffix = rest.replace(/\b(unsigned|zerofill)\b/g, '').trim();
  return { name: [match[1].trim(), suffix].filter(Boolean).join(' '), args, unsigned: /\bunsigned\b/.test(rest) };
}

/** Integer types by size (MySQL's and PostgreSQL's names). */
const INT_RANK: Record<string, number> = { tinyint: 1, smallint: 2, mediumint: 3, int: 4, integer: 4, bigint: 5 };
/** MySQL's text types by size. */
const TEXT_RANK: Record<string, number> = { tinytext: 1, text: 2, mediumtext: 3, longtext: 4 };
/** Types whose one argument is fractional seconds: more is wider. */
const FRACTIONAL = new Set(['timestamp', 'timestamp without time zone', 'timestamp with time zone', 'datetime', 'time', 'interval']);

/** Whether every value of `existing` fits `wanted` unchanged (and they differ). */
export function isWidening(existing: string, wanted: string): boolean {
  const from = parse(normalise(existing));
  const to = parse(normalise(wanted));
  if (!from || !to) return false;
  if (from.name === to.name && from.args.join() === to.args.join() && from.unsigned === to.unsigned) return false;
  if (from.name in INT_RANK && to.name in INT_RANK) {
    // Display widths (int(11)) say nothing about range; a change of sign is never a widening here.
    return from.unsigned === to.unsigned && INT_RANK[to.name] > INT_RANK[from.name];
  }
  if (from.name in INT_RANK && to.name === 'numeric') {
    // An integer into numeric(p,0) (PostgreSQL's unsigned BIGINT) or unbounded numeric.
    return to.args.length === 0 || ((to.args[1] ?? 0) === 0 && to.args[0] >= 20);
  }
  if (from.name === to.name && (from.name === 'varchar' || from.name === 'char' || from.name === 'varbinary')) return to.args[0] > from.args[0];
  if (from.name === 'varchar' && to.name === 'text' && to.args.length === 0) return true;
  if (from.name in TEXT_RANK && to.name in TEXT_RANK) return TEXT_RANK[to.name] > TEXT_RANK[from.name];
  if ((from.name === 'numeric' || from.name === 'decimal') && from.name === to.name) {
    if (to.args.length === 0) return true; // unbounded
    if (from.args.length === 0) return false;
    const [p1, s1 = 0] = from.args;
    const [p2, s2 = 0] = to.args;
    if (from.unsigned !== to.unsigned) return false;
    return s2 >= s1 && p2 - s2 >= p1 - s1;
  }
  if (FRACTIONAL.has(from.name) && from.name === to.name) return (to.args[0] ?? 0) > (from.args[0] ?? 0);
  return false;
}

/** PostgreSQL's catalogue names (format_type) in the words our DDL uses. */
function normalise(type: string): string {
  return type
    .toLowerCase()
    .replace(/^character varying/, 'varchar')
    .replace(/^character\b/, 'char')
    .trim();
}

import { ColumnSpec, LogicalType, quoteMysql } from '@tributary/model';
import { CompareOp, Condition, LiteralNode, Operand } from './ast';
import { compileFilter, Domain, DOMAINS } from './compile';
import { compareDecimal, isDecimalText } from './decimal';
import { parseFilter } from './parser';

/** A WHERE condition for MariaDB with its `?` bindings, in text order. */
export interface FilterPushdown {
  sql: string;
  bindings: Array<string | number | null>;
}

/**
 * A MariaDB WHERE condition that is TRUE for every row the compiled filter matches (a superset is allowed:
 * the JS filter is applied again to each row read; missing a row is NOT allowed — that would lose data).
 * Parts that cannot be translated with that guarantee are replaced by TRUE (so the result is still a
 * superset); returns null when nothing useful remains (the whole condition would be TRUE).
 * Column references are quoted with quoteMysql from @tributary/model; every literal is a bound `?`.
 *
 * What is translated (see compile.ts for the semantics it must agree with):
 * - exactly (same TRUE/FALSE/NULL as the JS filter for every row, so NOT of it is safe too):
 *   comparisons and IN of int/double columns with numbers (literals as `CAST(? AS DOUBLE)`, the very
 *   double JS compares with), of bigint/decimal columns with numbers (`CAST(? AS DECIMAL(p,s))` sized
 *   to the literal, so no digit is rounded), column-to-column comparisons within those groups,
 *   comparisons with a NULL literal (always unknown), literal-only comparisons (evaluated here),
 *   IS [NOT] NULL (except dates, below), constants, AND / OR / NOT of exact parts;
 * - as a superset: `=` and IN of string/enum columns with text (the column's collation may be
 *   case-insensitive and pad spaces, so it matches at least the rows the exact JS equality matches),
 *   `IS NULL` of date/datetime/timestamp columns (MariaDB also returns '0000-00-00' rows of a NOT NULL
 *   column), and AND of parts of which some are not translated;
 * - not at all (TRUE): float and year columns (index range rounding to float32; two-digit YEAR
 *   constants), ordering and `!=` on text, LIKE, dates and times (canonical text vs native values),
 *   set/json/bit, NOT of anything inexact, OR with an untranslated side, numbers beyond DECIMAL(65,38).
 *
 * @param alias table alias (or name) to qualify columns with.
 * @throws FilterError like compileFilter when the filter is invalid for these columns.
 */
export function filterToMysql(text: string, columns: readonly ColumnSpec[], alias?: string): FilterPushdown | null {
  compileFilter(text, columns); // the same errors as the filter itself; below, the tree is known to be valid
  const qualifier = alias === undefined ? '' : quoteMysql(alias) + '.';
  const part = new Translator(new Map(columns.map((c) => [c.name, c])), qualifier).condition(parseFilter(text));
  if (part.sql === null) return null;
  return { sql: part.sql, bindings: part.bindings };
}

type Binding = string | number | null;

/** A translated node: `sql` null means TRUE; `exact` means SQL gives the same TRUE, FALSE or NULL as the JS filter. */
interface Part {
  sql: string | null;
  exact: boolean;
  bindings: Binding[];
}

/** Column types whose SQL comparisons are pushed down (float and year are not: see filterToMysql). */
const COMPARABLE: ReadonlySet<LogicalType> = new Set<LogicalType>(['int', 'double', 'bigint', 'decimal', 'string', 'enum']);

/** `col IS NULL` is also TRUE for a zero date in a NOT NULL DATE/DATETIME column (ODBC compatibility). */
const ZERO_DATE_TYPES: ReadonlySet<LogicalType> = new Set<LogicalType>(['date', 'datetime', 'timestamp']);

const TRUE_EXACT: Part = { sql: null, exact: true, bindings: [] };
const UNTRANSLATED: Part = { sql: null, exact: false, bindings: [] };
const FALSE_EXACT: Part = { sql: 'FALSE', exact: true, bindings: [] };
const UNKNOWN_EXACT: Part = { sql: 'NULL', exact: true, bindings: [] };

/** MariaDB's DECIMAL limits. */
const MAX_PRECISION = 65;
const MAX_SCALE = 38;

class Translator {
  constructor(
    private readonly columns: ReadonlyMap<string, ColumnSpec>,
    private readonly qualifier: string,
  ) {}

  condition(node: Condition): Part {
    switch (node.kind) {
      case 'constant':
        return node.value ? TRUE_EXACT : FALSE_EXACT;
      case 'and':
        return and(this.condition(node.left), this.condition(node.right));
      case 'or':
        return or(this.condition(node.left), this.condition(node.right));
      case 'not':
        return not(this.condition(node.arg));
      case 'isnull':
        return this.isNull(node.arg, node.negated);
      case 'compare':
        return this.compare(node.op, node.left, node.right);
      case 'in': {
        // compile.ts: TRUE if any item is equal, else NULL if any comparison is unknown, else FALSE: an OR.
        const any = node.items.map((item) => this.compare('=', node.left, item)).reduce(or, FALSE_EXACT);
        return node.negated ? not(any) : any;
      }
      case 'like':
        // JS matches case-sensitively with `_` as one UTF-16 code unit; MariaDB uses the collation and characters.
        return UNTRANSLATED;
    }
  }

  private isNull(arg: Operand, negated: boolean): Part {
    if (arg.kind === 'literal') return (arg.value === null) !== negated ? TRUE_EXACT : FALSE_EXACT;
    const spec = this.spec(arg.name);
    const ref = this.ref(spec);
    if (ref === null) return UNTRANSLATED;
    if (ZERO_DATE_TYPES.has(spec.type)) return negated ? UNTRANSLATED : { sql: `${ref} IS NULL`, exact: false, bindings: [] };
    // The wire form keeps NULL as null and nothing else becomes null (decodeValue), so this is exact.
    return { sql: `${ref} ${negated ? 'IS NOT NULL' : 'IS NULL'}`, exact: true, bindings: [] };
  }

  private compare(op: CompareOp, left: Operand, right: Operand): Part {
    const domain = this.domainOf(left) ?? this.domainOf(right) ?? literalDomain(left);
    // Either side NULL: compile.ts returns unknown whatever the other side is, and so does SQL.
    if (isNullLiteral(left) || isNullLiteral(right)) return UNKNOWN_EXACT;
    if (left.kind === 'literal' && right.kind === 'literal') return constantCompare(op, domain, left, right);
    if (domain === 'text') {
      // Only equality with a literal: under any collation identical strings are equal, so it is a superset.
      if (op !== '=' || (left.kind === 'column' && right.kind === 'column')) return UNTRANSLATED;
    }
    const a = this.operand(left, domain);
    const b = this.operand(right, domain);
    if (a === null || b === null) return UNTRANSLATED;
    return {
      sql: `${a.sql} ${op === '!=' ? '<>' : op} ${b.sql}`,
      exact: domain !== 'text',
      bindings: [...a.bindings, ...b.bindings],
    };
  }

  /** SQL for one side of a comparison in the given domain, or null if it cannot be translated exactly. */
  private operand(operand: Operand, domain: Domain): { sql: string; bindings: Binding[] } | null {
    if (operand.kind === 'column') {
      const spec = this.spec(operand.name);
      if (!COMPARABLE.has(spec.type)) return null;
      const ref = this.ref(spec);
      return ref === null ? null : { sql: ref, bindings: [] };
    }
    const value = operand.value;
    switch (domain) {
      case 'number': {
        // The double JS compares with; its shortest text reads back (correctly rounded) as the same double.
        const number = typeof value === 'boolean' ? (value ? 1 : 0) : value;
        if (typeof number !== 'number' || !Number.isFinite(number)) return null;
        return { sql: 'CAST(? AS DOUBLE)', bindings: [String(number)] };
      }
      case 'decimal': {
        const text = typeof value === 'boolean' ? (value ? '1' : '0') : typeof value === 'number' ? operand.raw : value;
        const decimal = typeof text === 'string' ? normalizeDecimal(text) : null;
        if (decimal === null) return null;
        return { sql: `CAST(? AS DECIMAL(${decimal.precision},${decimal.scale}))`, bindings: [decimal.text] };
      }
      case 'text':
        return typeof value === 'string' ? { sql: '?', bindings: [value] } : null;
    }
  }

  private domainOf(operand: Operand): Domain | null {
    return operand.kind === 'column' ? DOMAINS[this.spec(operand.name).type] : null;
  }

  private spec(name: string): ColumnSpec {
    const spec = this.columns.get(name);
    // compileFilter has already refused unknown columns.
    if (!spec) throw new Error(`unknown column ${JSON.stringify(name)}`);
    return spec;
  }

  /** The quoted column reference, or null for a name quoteMysql refuses (that part stays in the JS filter). */
  private ref(spec: ColumnSpec): string | null {
    try {
      return this.qualifier + quoteMysql(spec.name);
    } catch {
      return null;
    }
  }
}

function and(l: Part, r: Part): Part {
  const exact = l.exact && r.exact;
  if (l.sql === null) return { ...r, exact };
  if (r.sql === null) return { ...l, exact };
  return { sql: `(${l.sql}) AND (${r.sql})`, exact, bindings: [...l.bindings, ...r.bindings] };
}

function or(l: Part, r: Part): Part {
  if (l.sql === null || r.sql === null) {
    // TRUE OR x is TRUE: exact if the TRUE side was the constant, a superset if it stood for an untranslated part.
    const exact = (l.sql === null && l.exact) || (r.sql === null && r.exact);
    return exact ? TRUE_EXACT : UNTRANSLATED;
  }
  if (l === FALSE_EXACT) return r;
  if (r === FALSE_EXACT) return l;
  return { sql: `(${l.sql}) OR (${r.sql})`, exact: l.exact && r.exact, bindings: [...l.bindings, ...r.bindings] };
}

/** NOT keeps unknown unknown in both SQL and compile.ts; only an exact part can be negated without losing rows. */
function not(arg: Part): Part {
  if (!arg.exact) return UNTRANSLATED;
  if (arg.sql === null) return FALSE_EXACT;
  return { sql: `NOT (${arg.sql})`, exact: true, bindings: arg.bindings };
}

function isNullLiteral(operand: Operand): boolean {
  return operand.kind === 'literal' && operand.value === null;
}

function literalDomain(operand: Operand): Domain {
  if (operand.kind === 'literal' && (typeof operand.value === 'number' || typeof operand.value === 'boolean')) return 'decimal';
  return 'text';
}

/** Two literals, compared here exactly as compile.ts would (decimal domain or plain text). */
function constantCompare(op: CompareOp, domain: Domain, left: LiteralNode, right: LiteralNode): Part {
  const x = constantIn(left, domain);
  const y = constantIn(right, domain);
  if (x === null || y === null) return UNTRANSLATED;
  const c = domain === 'text' ? (x === y ? 0 : x < y ? -1 : 1) : compareDecimal(x, y);
  const holds = op === '=' ? c === 0 : op === '!=' ? c !== 0 : op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
  return holds ? TRUE_EXACT : FALSE_EXACT;
}

function constantIn(literal: LiteralNode, domain: Domain): string | null {
  const { value, raw } = literal;
  if (domain === 'text') return typeof value === 'string' ? value : null;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return raw;
  return typeof value === 'string' && isDecimalText(value) ? value : null;
}

/** Decimal text as `[-]int[.frac]` without redundant zeros, with the DECIMAL(p,s) that holds it exactly; null beyond MariaDB's limits. */
export function normalizeDecimal(text: string): { text: string; precision: number; scale: number } | null {
  const match = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(text.trim());
  if (!match || !isDecimalText(text.trim())) return null;
  const int = match[2].replace(/^0+/, '');
  const frac = (match[3] ?? '').replace(/0+$/, '');
  const negative = match[1] === '-' && (int !== '' || frac !== '');
  const precision = Math.max(1, int.length + frac.length);
  const scale = frac.length;
  if (precision > MAX_PRECISION || scale > MAX_SCALE) return null;
  return { text: (negative ? '-' : '') + (int || '0') + (frac ? '.' + frac : ''), precision, scale };
}

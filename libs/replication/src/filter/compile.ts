import { ColumnSpec, LogicalType, Row, Value } from '@tributary/model';
import { CompareOp, Condition, Operand } from './ast';
import { compareDecimal, isDecimalText } from './decimal';
import { FilterError } from './errors';
import { parseFilter } from './parser';

/** A compiled row filter. */
export interface RowFilter {
  /** The filter text it was compiled from. */
  readonly text: string;
  /** Columns the filter reads (a later schema without one of them makes the filter unusable). */
  readonly columns: readonly string[];
  /** True only if the condition is TRUE for the row: like SQL's WHERE, NULL (unknown) does not match. */
  evaluate(row: Row): boolean;
}

/**
 * Compiles filter text against a table's columns.
 *
 * @throws FilterError with the position and reason: a syntax error, an unknown column, a value
 *   that cannot be compared with the column (e.g. a string with a numeric column), a binary column.
 */
export function compileFilter(text: string, columns: readonly ColumnSpec[]): RowFilter {
  const condition = parseFilter(text);
  const byName = new Map(columns.map((c) => [c.name, c]));
  const used = new Set<string>();
  const predicate = new Compiler(byName, used).condition(condition);
  return { text, columns: [...used], evaluate: (row) => predicate(row) === true };
}

/** SQL's three values: true, false, and null for unknown. */
type Truth = boolean | null;
type Predicate = (row: Row) => Truth;

/** How values of a column are compared (shared with the SQL push-down, which must agree). */
export type Domain = 'number' | 'decimal' | 'text';
type Getter = (row: Row) => string | number | null;

export const DOMAINS: Readonly<Record<LogicalType, Domain | null>> = {
  int: 'number',
  year: 'number',
  float: 'number',
  double: 'number',
  bigint: 'decimal',
  decimal: 'decimal',
  // Dates and times are fixed-width text in the canonical form: text order is time order.
  date: 'text',
  datetime: 'text',
  timestamp: 'text',
  time: 'text',
  string: 'text',
  enum: 'text',
  set: 'text',
  json: 'text',
  bit: 'text',
  binary: null,
};

class Compiler {
  constructor(
    private readonly columns: ReadonlyMap<string, ColumnSpec>,
    private readonly used: Set<string>,
  ) {}

  condition(node: Condition): Predicate {
    switch (node.kind) {
      case 'constant':
        return () => node.value;
      case 'and': {
        const [l, r] = [this.condition(node.left), this.condition(node.right)];
        return (row) => and(l(row), r(row));
      }
      case 'or': {
        const [l, r] = [this.condition(node.left), this.condition(node.right)];
        return (row) => not(and(not(l(row)), not(r(row))));
      }
      case 'not': {
        const arg = this.condition(node.arg);
        return (row) => not(arg(row));
      }
      case 'isnull': {
        const get = this.operand(node.arg, null).get;
        return (row) => (get(row) === null) !== node.negated;
      }
      case 'compare':
        return this.compare(node.op, node.left, node.right);
      case 'in': {
        const tests = node.items.map((item) => this.compare('=', node.left, item));
        return (row) => {
          let result: Truth = false;
          for (const test of tests) {
            const t = test(row);
            if (t === true) return !node.negated;
            if (t === null) result = null;
          }
          return node.negated ? not(result) : result;
        };
      }
      case 'like':
        return this.like(node.left, node.pattern, node.negated);
    }
  }

  private compare(op: CompareOp, left: Operand, right: Operand): Predicate {
    // The column decides how the values compare; a literal is read in the column's terms.
    const domain = this.domainOf(left) ?? this.domainOf(right) ?? literalDomain(left);
    const peer = this.peer(left) ?? this.peer(right);
    const a = this.operand(left, domain, peer);
    const b = this.operand(right, domain, peer);
    if (a.domain !== b.domain) throw new FilterError(`cannot compare a ${a.domain} with a ${b.domain}`, right.pos);
    const order = domain === 'decimal' ? (x: string | number, y: string | number) => compareDecimal(String(x), String(y)) : naturalOrder;
    return (row) => {
      const x = a.get(row);
      const y = b.get(row);
      if (x === null || y === null) return null;
      const c = order(x, y);
      switch (op) {
        case '=': return c === 0;
        case '!=': return c !== 0;
        case '<': return c < 0;
        case '<=': return c <= 0;
        case '>': return c > 0;
        case '>=': return c >= 0;
      }
    };
  }

  private like(left: Operand, pattern: Operand, negated: boolean): Predicate {
    const value = this.operand(left, 'text');
    if (value.domain !== 'text') throw new FilterError(`'like' applies to text, not to a ${value.domain}`, left.pos);
    if (pattern.kind !== 'literal' || typeof pattern.value !== 'string') throw new FilterError("'like' needs a string pattern", pattern.pos);
    const regex = likeToRegExp(pattern.value);
    return (row) => {
      const x = value.get(row);
      if (x === null) return null;
      return regex.test(String(x)) !== negated;
    };
  }

  private peer(operand: Operand): ColumnSpec | null {
    return operand.kind === 'column' ? this.column(operand).spec : null;
  }

  private domainOf(operand: Operand): Domain | null {
    return operand.kind === 'column' ? this.column(operand).domain : null;
  }

  private column(operand: { name: string; pos: number }): { spec: ColumnSpec; domain: Domain } {
    const spec = this.columns.get(operand.name);
    if (!spec) throw new FilterError(`unknown column ${JSON.stringify(operand.name)}`, operand.pos);
    const domain = DOMAINS[spec.type];
    if (!domain) throw new FilterError(`column ${JSON.stringify(operand.name)} is binary and cannot be used in a filter`, operand.pos);
    this.used.add(spec.name);
    return { spec, domain };
  }

  /** A getter in the given domain (null: whatever the operand is, for `is null`); `peer` is the column a literal meets. */
  private operand(operand: Operand, domain: Domain | null, peer: ColumnSpec | null = null): { domain: Domain; get: Getter } {
    if (operand.kind === 'column') {
      const { spec, domain: own } = this.column(operand);
      const name = spec.name;
      return { domain: own, get: (row) => columnValue(row[name]) };
    }
    const value = literalIn(operand, domain ?? literalDomain(operand), peer);
    return { domain: domain ?? literalDomain(operand), get: () => value };
  }
}

function columnValue(value: Value | undefined): string | number | null {
  if (value === undefined || value === null) return null;
  if (Buffer.isBuffer(value)) return null;
  return value;
}

/** A literal as a value of the domain it is compared in; a mismatch is the user's mistake, reported where it is. */
function literalIn(literal: Extract<Operand, { kind: 'literal' }>, domain: Domain, peer: ColumnSpec | null): string | number | null {
  const { value, raw, pos } = literal;
  if (value === null) return null;
  switch (domain) {
    case 'number':
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value !== 'number') throw new FilterError(`expected a number, got ${JSON.stringify(value)}`, pos);
      return value;
    case 'decimal':
      if (typeof value === 'boolean') return value ? '1' : '0';
      if (typeof value === 'number') return raw;
      if (!isDecimalText(value)) throw new FilterError(`expected a number, got ${JSON.stringify(value)}`, pos);
      return value;
    case 'text':
      if (typeof value !== 'string') throw new FilterError(`expected a string in single quotes, got ${raw}`, pos);
      return peer ? canonicalTime(peer, value) : value;
  }
}

/**
 * Dates and times compare as text only in the exact canonical form of the
 * column (fsp digits, a time part for DATETIME): '2024-01-01' against a
 * DATETIME(6) column means '2024-01-01 00:00:00.000000'.
 */
function canonicalTime(column: ColumnSpec, value: string): string {
  if (column.type !== 'datetime' && column.type !== 'timestamp' && column.type !== 'time') return value;
  let text = value;
  if (column.type !== 'time' && /^\d{4}-\d{2}-\d{2}$/.test(text)) text += ' 00:00:00';
  const fsp = column.fsp ?? 0;
  if (fsp > 0 && /:\d{2}$/.test(text)) text += '.' + '0'.repeat(fsp);
  return text;
}

function literalDomain(operand: Operand): Domain {
  if (operand.kind === 'literal' && (typeof operand.value === 'number' || typeof operand.value === 'boolean')) return 'decimal';
  return 'text';
}

function naturalOrder(x: string | number, y: string | number): number {
  return x === y ? 0 : x < y ? -1 : 1;
}

function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

function not(a: Truth): Truth {
  return a === null ? null : !a;
}

/** SQL LIKE: `%` any run, `_` one character, `\` escapes the next one; case-sensitive (see docs). */
export function likeToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]);
    else if (ch === '%') source += '.*';
    else if (ch === '_') source += '.';
    else source += escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

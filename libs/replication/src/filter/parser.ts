import jsep from 'jsep';
import { CompareOp, Condition, Operand } from './ast';
import { FilterError } from './errors';
import { JsepSource, tokenize, toJsepSource } from './lexer';

/**
 * Parses filter text into a Condition with jsep (a parser only: nothing is
 * ever compiled to JavaScript or evaluated as code — invariant 10).
 *
 * jsep's operator tables are process-wide; they are set once here to the
 * filter language and nothing else in Tributary uses jsep.
 */
const COMPARE: ReadonlySet<string> = new Set(['=', '!=', '<>', '<', '<=', '>', '>=']);
let configured = false;

function configure(): void {
  if (configured) return;
  jsep.removeAllBinaryOps();
  jsep.removeAllUnaryOps();
  jsep.addBinaryOp('or', 1);
  jsep.addBinaryOp('and', 2);
  for (const op of [...COMPARE, 'in', 'not_in', 'like', 'not_like', 'is', 'is_not']) jsep.addBinaryOp(op, 6);
  jsep.addUnaryOp('not');
  jsep.addUnaryOp('-');
  configured = true;
}

type Node = jsep.Expression;

export function parseFilter(text: string): Condition {
  configure();
  const tokens = tokenize(text);
  if (tokens.length === 0) throw new FilterError('the filter is empty', 0);
  const source = toJsepSource(text, tokens);
  let tree: Node;
  try {
    tree = jsep(source.text);
  } catch (error) {
    const index = (error as { index?: number }).index;
    const reason = String((error as { description?: string }).description ?? (error as Error).message).replace(/ at character \d+$/, '');
    throw new FilterError(`syntax error: ${reason}`, typeof index === 'number' ? source.positions[Math.min(index, source.positions.length - 1)] : null);
  }
  return new Converter(source).condition(hoistNot(tree));
}

/**
 * jsep binds a prefix operator tighter than any binary one, so `not a = 1`
 * arrives as `(not a) = 1`; SQL means `not (a = 1)`. Moves `not` above the
 * comparison that took it as its left operand.
 */
function hoistNot(node: Node): Node {
  if (node.type === 'UnaryExpression') return { ...node, argument: hoistNot(node.argument as Node) };
  if (node.type !== 'BinaryExpression') return node;
  const left = hoistNot(node.left as Node);
  const right = hoistNot(node.right as Node);
  const op = node.operator as string;
  if (op !== 'and' && op !== 'or' && left.type === 'UnaryExpression' && left.operator === 'not') {
    return { type: 'UnaryExpression', operator: 'not', prefix: true, argument: hoistNot({ ...node, left: left.argument as Node, right }) };
  }
  return { ...node, left, right };
}

/** How many operands (columns, literals) a jsep subtree holds. */
function leafCount(node: Node): number {
  switch (node.type) {
    case 'Identifier':
    case 'Literal':
      return 1;
    case 'UnaryExpression':
      return leafCount(node.argument as Node);
    case 'BinaryExpression':
      return leafCount(node.left as Node) + leafCount(node.right as Node);
    case 'SequenceExpression':
      return (node.expressions as Node[]).reduce((n, e) => n + leafCount(e), 0);
    case 'Compound':
      return (node.body as Node[]).reduce((n, e) => n + leafCount(e), 0);
    default:
      return 0;
  }
}

/** jsep's tree → Condition. Leaves are matched with the lexer's operands in source order, which gives them positions. */
class Converter {
  private next = 0;

  constructor(private readonly source: JsepSource) {}

  condition(node: Node): Condition {
    if (node.type === 'UnaryExpression' && node.operator === 'not') return { kind: 'not', arg: this.condition(node.argument as Node) };
    if (node.type === 'Literal' && typeof node.value === 'boolean') {
      return { kind: 'constant', value: node.value, pos: this.take().pos };
    }
    if (node.type === 'Compound') {
      // Two expressions side by side (`amount between 1 and 2`): point at the start of the second.
      const first = (node.body as Node[])[0];
      const at = this.source.operands[this.next + leafCount(first)];
      throw new FilterError('expected an operator (and, or, =, in, like, is ...) before this', at ? at.pos : null);
    }
    if (node.type !== 'BinaryExpression') throw this.notACondition(node);
    const op = node.operator as string;
    if (op === 'and' || op === 'or') {
      return { kind: op, left: this.condition(node.left as Node), right: this.condition(node.right as Node) };
    }
    const left = this.operand(node.left as Node);
    if (COMPARE.has(op)) return { kind: 'compare', op: (op === '<>' ? '!=' : op) as CompareOp, left, right: this.operand(node.right as Node) };
    if (op === 'in' || op === 'not_in') return { kind: 'in', negated: op === 'not_in', left, items: this.list(node.right as Node) };
    if (op === 'like' || op === 'not_like') return { kind: 'like', negated: op === 'not_like', left, pattern: this.operand(node.right as Node) };
    if (op === 'is' || op === 'is_not') {
      const right = this.operand(node.right as Node);
      if (right.kind !== 'literal' || right.value !== null) throw new FilterError(`'is' must be followed by null or not null`, right.pos);
      return { kind: 'isnull', negated: op === 'is_not', arg: left };
    }
    throw new FilterError(`unsupported operator ${op}`, left.pos);
  }

  private list(node: Node): Operand[] {
    const items = node.type === 'SequenceExpression' ? (node.expressions as Node[]) : [node];
    return items.map((item) => this.operand(item));
  }

  private operand(node: Node): Operand {
    if (node.type === 'UnaryExpression' && node.operator === '-') {
      const arg = node.argument as Node;
      if (arg.type !== 'Literal' || typeof arg.value !== 'number') throw this.notAValue(arg, "'-' applies to a number only");
      const token = this.take();
      return { kind: 'literal', value: -arg.value, raw: '-' + token.text, pos: token.pos - 1 };
    }
    if (node.type === 'Identifier') {
      const token = this.take();
      return { kind: 'column', name: token.text, pos: token.pos };
    }
    if (node.type === 'Literal') {
      const token = this.take();
      const value = node.value;
      if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new FilterError('unexpected value', token.pos);
      }
      return { kind: 'literal', value, raw: token.text, pos: token.pos };
    }
    throw this.notAValue(node, 'expected a column or a value');
  }

  private take() {
    const token = this.source.operands[this.next++];
    // Cannot happen while the lexer and jsep agree on what a leaf is; a clear error beats a wrong position.
    if (!token) throw new FilterError('cannot read this filter', null);
    return token;
  }

  private firstPos(node: Node): number | null {
    return this.source.operands[this.next]?.pos ?? null;
  }

  private notACondition(node: Node): FilterError {
    return new FilterError('expected a condition (e.g. column = value)', this.firstPos(node));
  }

  private notAValue(node: Node, reason: string): FilterError {
    return new FilterError(reason, this.firstPos(node));
  }
}

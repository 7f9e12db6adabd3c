/** The filter's syntax tree, independent of jsep: what the evaluator is compiled from. */

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface ColumnNode {
  kind: 'column';
  name: string;
  pos: number;
}

export interface LiteralNode {
  kind: 'literal';
  /** Numbers keep their written text (`raw`) so DECIMAL comparisons stay exact. */
  value: string | number | boolean | null;
  raw: string;
  pos: number;
}

export type Operand = ColumnNode | LiteralNode;

export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; arg: Condition }
  | { kind: 'compare'; op: CompareOp; left: Operand; right: Operand }
  | { kind: 'in'; negated: boolean; left: Operand; items: Operand[] }
  | { kind: 'like'; negated: boolean; left: Operand; pattern: Operand }
  | { kind: 'isnull'; negated: boolean; arg: Operand }
  | { kind: 'constant'; value: boolean; pos: number };

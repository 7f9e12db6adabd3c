import { ColumnRename } from '@tributary/model';
import { KEYWORDS, tokenize } from './filter/lexer';

/**
 * Source columns renamed (issue #17), as a route's rules follow them: its
 * filter, mapping and conflict policy name source columns, so a rename
 * rewrites them. A route's rules are stored in the names of one schema
 * version; the worker translates them to the version of the changes it
 * applies (forward through later renames, or back through them), so
 * changes captured before and after an ALTER both fit.
 */

/** The parts of a route that name source columns. */
export interface ColumnNamingRules {
  filter?: string | null;
  mapping?: Record<string, unknown> | null;
  conflictPolicy?: Record<string, unknown> | null;
}

/**
 * Renames MariaDB applies together (one ALTER: `a → b, b → a` swaps) as
 * steps one after the other, each onto a name free at that point:
 * where a rename's new name is still taken by a column renamed later in
 * the list, it goes through a temporary name first.
 */
export function sequentialRenames(together: readonly ColumnRename[], taken: (name: string) => boolean = () => false): ColumnRename[] {
  const sources = new Set(together.map((rename) => rename.from));
  if (!together.some((rename) => sources.has(rename.to))) return together.map((rename) => ({ ...rename }));
  const used = new Set([...together.flatMap((rename) => [rename.from, rename.to])]);
  const temporary = (index: number) => {
    let name = `_trb_rename_${index}`;
    while (used.has(name) || taken(name)) name += '_';
    used.add(name);
    return name;
  };
  const parked = together.map((rename, index) => ({ ...rename, via: temporary(index) }));
  return [...parked.map(({ from, via }) => ({ from, to: via })), ...parked.map(({ via, to }) => ({ from: via, to }))];
}

/** The name a column has after `renames` (applied in order). */
export function renamedColumn(name: string, renames: readonly ColumnRename[]): string {
  return renames.reduce((current, rename) => (current === rename.from ? rename.to : current), name);
}

/** The renames that undo `renames`: each inverted, last first. */
export function undoRenames(renames: readonly ColumnRename[]): ColumnRename[] {
  return [...renames].reverse().map(({ from, to }) => ({ from: to, to: from }));
}

/**
 * The rules with every source column they name renamed; unchanged parts
 * are returned as they were (the same objects).
 */
export function renameRuleColumns<T extends ColumnNamingRules>(rules: T, renames: readonly ColumnRename[]): T {
  if (renames.length === 0) return rules;
  const rename = (name: string) => renamedColumn(name, renames);
  return {
    ...rules,
    filter: rules.filter ? renameFilterColumns(rules.filter, rename) : rules.filter,
    mapping: rules.mapping ? renameMappingColumns(rules.mapping, rename) : rules.mapping,
    conflictPolicy:
      rules.conflictPolicy && typeof rules.conflictPolicy.column === 'string'
        ? { ...rules.conflictPolicy, column: rename(rules.conflictPolicy.column) }
        : rules.conflictPolicy,
  };
}

/** Every column name in the filter text renamed; the rest of the text as written. */
function renameFilterColumns(filter: string, rename: (name: string) => string): string {
  let out = '';
  let at = 0;
  for (const token of tokenize(filter)) {
    if (token.kind !== 'ident') continue;
    const renamed = rename(token.text);
    if (renamed === token.text) continue;
    const length = filter[token.pos] === '`' ? token.text.length + 2 : token.text.length;
    out += filter.slice(at, token.pos) + filterName(renamed);
    at = token.pos + length;
  }
  return out + filter.slice(at);
}

/** A column name as the filter language reads it: bare if it can be, else in backticks. */
function filterName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && !KEYWORDS.has(name.toLowerCase()) ? name : `\`${name}\``;
}

/** The mapping with its source column names renamed (include, exclude, the keys of rename); target names stay. */
function renameMappingColumns(mapping: Record<string, unknown>, rename: (name: string) => string): Record<string, unknown> {
  const names = (value: unknown) => (Array.isArray(value) ? value.map((name) => (typeof name === 'string' ? rename(name) : name)) : value);
  const out: Record<string, unknown> = { ...mapping };
  if ('include' in mapping) out.include = names(mapping.include);
  if ('exclude' in mapping) out.exclude = names(mapping.exclude);
  const renames = mapping.rename;
  if (renames && typeof renames === 'object' && !Array.isArray(renames)) {
    out.rename = Object.fromEntries(Object.entries(renames).map(([from, to]) => [rename(from), to]));
  }
  return out;
}

import { ColumnRename, validateIdentifier } from '@tributary/model';
import { CaptureError } from './errors';

/**
 * The columns an ALTER TABLE specification renames, as MariaDB applies them:
 * `RENAME COLUMN a TO b` and `CHANGE [COLUMN] [IF EXISTS] a b <definition>`.
 * Information_schema cannot tell a renamed column from one dropped and one
 * added, so the statement is the only witness; without it the targets would
 * lose the column's values (issue #17).
 *
 * The spec must have passed validateAlterSpec (no comments, no backslashes,
 * every quote closed), so splitting at top-level commas is exact.
 *
 * @returns the renames in clause order; MariaDB applies them together, so `a → b, b → a` is a swap.
 */
export function columnRenames(spec: string): ColumnRename[] {
  const renames: ColumnRename[] = [];
  for (const clause of topLevelClauses(spec)) {
    const words = leadingWords(clause, 6);
    const keyword = (index: number) => words[index]?.bare?.toUpperCase();
    let at = 0;
    if (keyword(0) === 'RENAME' && keyword(1) === 'COLUMN') {
      // RENAME COLUMN a TO b
      if (keyword(3) === 'TO' && words[2] && words[4]) renames.push({ from: words[2].name, to: words[4].name });
      continue;
    }
    if (keyword(0) !== 'CHANGE') continue;
    at = 1;
    if (keyword(at) === 'COLUMN') at++;
    if (keyword(at) === 'IF' && keyword(at + 1) === 'EXISTS') at += 2;
    const from = words[at];
    const to = words[at + 1];
    if (from && to && from.name !== to.name) renames.push({ from: from.name, to: to.name });
  }
  return renames;
}

/**
 * The new name when the specification renames the table (`RENAME [TO|AS]
 * name`), or null. A table rename must be the specification's only clause:
 * it is carried out its own way (renameCapturedTable), not by
 * alterCapturedTable.
 *
 * @throws CaptureError if the rename comes with other clauses or its name is not a valid identifier.
 */
export function tableRenameOf(spec: string): string | null {
  const clauses = topLevelClauses(spec.trim());
  const isTableRename = (clause: string) => {
    const words = leadingWords(clause, 2);
    return words[0]?.bare?.toUpperCase() === 'RENAME' && !['COLUMN', 'INDEX', 'KEY'].includes(words[1]?.bare?.toUpperCase() ?? '');
  };
  const rename = clauses.find(isTableRename);
  if (rename === undefined) return null;
  if (clauses.length > 1) throw new CaptureError('rename the table in an ALTER of its own (RENAME TO <name>, nothing else)');
  const match = /^RENAME\s+(?:(?:TO|AS)\s+)?(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)$/i.exec(rename);
  if (!match) throw new CaptureError(`the table rename must read RENAME TO <name>, got ${JSON.stringify(rename)}`);
  const quoted = match[1].startsWith('`');
  const name = quoted ? match[1].slice(1, -1).replace(/``/g, '`') : match[1];
  try {
    return validateIdentifier(name, 'table');
  } catch (error) {
    throw new CaptureError(error instanceof Error ? error.message : String(error));
  }
}

/** A word at the start of a clause: its name (backticks removed) and, if it was not quoted, the word as written. */
interface Word {
  name: string;
  bare: string | null;
}

/** The clauses of the list: split at commas outside quotes and parentheses. */
function topLevelClauses(spec: string): string[] {
  const clauses: string[] = [];
  let depth = 0;
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i < spec.length; i++) {
    const ch = spec[i];
    if (quote) {
      // A doubled quote stays inside (validateAlterSpec refused backslashes).
      if (ch === quote) quote = spec[i + 1] === quote ? (i++, quote) : null;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      clauses.push(spec.slice(start, i));
      start = i + 1;
    }
  }
  clauses.push(spec.slice(start));
  return clauses.map((clause) => clause.trim());
}

/** Up to `count` words from the clause's start: bare words, or backtick-quoted names. */
function leadingWords(clause: string, count: number): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (words.length < count && i < clause.length) {
    while (/\s/.test(clause[i] ?? '')) i++;
    if (clause[i] === '`') {
      let name = '';
      i++;
      while (i < clause.length) {
        if (clause[i] === '`') {
          if (clause[i + 1] !== '`') break;
          i++;
        }
        name += clause[i++];
      }
      i++;
      words.push({ name, bare: null });
      continue;
    }
    const match = /^[A-Za-z0-9_$]+/.exec(clause.slice(i));
    if (!match) break;
    words.push({ name: match[0], bare: match[0] });
    i += match[0].length;
  }
  return words;
}

import { CaptureError } from './errors';

/**
 * Checks the part of an ALTER TABLE statement after the table name, as an
 * admin wrote it (e.g. `ADD COLUMN note VARCHAR(20) NULL, DROP COLUMN legacy`).
 * The caller is authenticated, but the text still goes into SQL as is, so it
 * must be one clause list and nothing more: no statement separator, no
 * comment (which could hide or cut off text, or carry MySQL's executable
 * `/*!...*\/` form), no backslash, every quote closed. Conservative on
 * purpose: a `;` or `#` inside a string literal (a COMMENT, a DEFAULT) is
 * refused too.
 *
 * Also refused: renaming the table itself (`RENAME [TO|AS] x`). Under LOCK
 * TABLES the server releases the renamed table's lock at once (measured on
 * MariaDB 10.11), so writers would run before capture is regenerated. A
 * rename on its own goes through renameCapturedTable (tableRenameOf tells).
 *
 * @returns the spec, trimmed.
 * @throws CaptureError naming what is wrong.
 */
export function validateAlterSpec(spec: string): string {
  const text = spec.trim();
  if (text.length === 0) throw new CaptureError('the ALTER TABLE specification is empty');
  if (text.includes(';')) throw new CaptureError('the ALTER TABLE specification must not contain ";" (one statement only)');
  if (/--|#|\/\*/.test(text)) throw new CaptureError('the ALTER TABLE specification must not contain comments (--, #, /*)');
  if (/[\0\x1a]/.test(text)) throw new CaptureError('the ALTER TABLE specification must not contain NUL or Ctrl-Z characters');
  // Whether a backslash escapes a quote depends on the session's sql_mode (NO_BACKSLASH_ESCAPES), so
  // with one in the text we could not know where a string ends; '' writes a quote inside a string.
  if (text.includes('\\')) throw new CaptureError("the ALTER TABLE specification must not contain backslashes (write a quote inside a string as '')");
  const unquoted = stripQuoted(text);
  if (/\bRENAME\b(?!\s+(COLUMN|INDEX|KEY)\b)/i.test(unquoted)) {
    throw new CaptureError('the ALTER TABLE specification must not rename the table with other changes: rename it in an ALTER of its own (RENAME TO <name>)');
  }
  return text;
}

/**
 * The text with every quoted part ('...', "...", `...`) removed.
 * @throws CaptureError if a quote is left open.
 */
function stripQuoted(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch !== "'" && ch !== '"' && ch !== '`') {
      out += ch;
      i++;
      continue;
    }
    i = endOfQuoted(text, i);
    out += ' ';
  }
  return out;
}

/** Index just after the quoted part starting at `start`; a doubled quote stays inside (backslashes were refused). */
function endOfQuoted(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === quote) {
      if (text[i + 1] !== quote) return i + 1;
      i += 2;
    } else {
      i++;
    }
  }
  const what = quote === '`' ? 'backtick-quoted name' : 'string';
  throw new CaptureError(`the ALTER TABLE specification has an unclosed ${what} (${quote})`);
}

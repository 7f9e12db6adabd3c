/**
 * What a new route does with the rows its table already has. Routes start
 * at the relay's current position: they get changes from now on. Copying
 * the existing rows (a snapshot) comes with issue #5; until then every
 * answer says so plainly instead of leaving a half-filled target to be
 * discovered later.
 */
export interface InitialCopy {
  /** Whether the existing rows will be copied: not yet (issue #5). */
  available: false;
  /** Rows the source table has now (estimated for large tables); null if the source could not be asked. */
  sourceRows: number | null;
  message: string;
}

export function initialCopyOf(table: string, rows: number | null, exact: boolean): InitialCopy {
  if (rows === null) {
    return {
      available: false,
      sourceRows: null,
      message:
        `The rows ${table} already has could not be counted (the source did not answer); initial copy (snapshot) is not implemented yet — ` +
        'only changes from now on will be replicated (issue #5).',
    };
  }
  if (rows === 0) {
    return { available: false, sourceRows: 0, message: `${table} has no rows yet, so there is nothing to copy: every change from now on is replicated.` };
  }
  const count = `${exact ? '' : 'about '}${rows} row${rows === 1 ? '' : 's'}`;
  return {
    available: false,
    sourceRows: rows,
    message: `This table already has ${count}; initial copy (snapshot) is not implemented yet — only changes from now on will be replicated (issue #5).`,
  };
}

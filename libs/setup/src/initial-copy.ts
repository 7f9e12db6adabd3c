/**
 * What a new route (or a route pointed at another target table) does with
 * the rows its source table already has: an initial copy is requested unless
 * the caller said not to, and the answer says plainly which it was.
 */
export interface InitialCopy {
  /** Whether an initial copy (snapshot) was requested: follow it at GET /api/routes/{id}/snapshot. */
  requested: boolean;
  /** Rows the source table has now (estimated for large tables); null if the source could not be asked. */
  sourceRows: number | null;
  message: string;
}

export function initialCopyOf(table: string, rows: number | null, exact: boolean, requested: boolean): InitialCopy {
  const count = rows === null ? 'an unknown number of rows (the source did not answer)' : `${exact ? '' : 'about '}${rows} row${rows === 1 ? '' : 's'}`;
  if (requested) {
    return {
      requested,
      sourceRows: rows,
      message: `${table} has ${count}; an initial copy was requested: the target gets every existing row while changes keep flowing (progress: GET /api/routes/{id}/snapshot).`,
    };
  }
  return {
    requested,
    sourceRows: rows,
    message: `${table} has ${count}; no initial copy was asked for, so only changes from now on are replicated (POST /api/routes/{id}/resync copies the rest).`,
  };
}

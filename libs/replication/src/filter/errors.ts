/**
 * A filter that cannot be used: a syntax error, an unknown column, or a
 * comparison that makes no sense for the column's type. `position` is the
 * 0-based character offset in the filter text, when there is one.
 */
export class FilterError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number | null,
  ) {
    super(position === null ? reason : `${reason} at position ${position}`);
    this.name = 'FilterError';
  }
}

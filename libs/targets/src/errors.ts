/** Typed errors: callers decide retry with instanceof, never by message text. */

/** The target is unreachable, busy or timed out: retry the same batch later, in order. */
export class TransientTargetError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientTargetError';
  }
}

/** The target refused this row for good (constraint, type, range): it becomes a dead letter. */
export class RowRejectedError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RowRejectedError';
  }
}

/**
 * Inside a target transaction of several batches (Target.transaction): the
 * target refused rows for good. The whole transaction is rolled back — a
 * dead letter of one row would publish the rest of its source transaction —
 * so the caller retries it later, in order, until the row fits.
 */
export class TransactionRefusedError extends Error {
  constructor(
    readonly rejected: ReadonlyArray<{ change: { seq: number }; reason: string; code: string | null }>,
    readonly tableName: string,
    options?: { cause?: unknown },
  ) {
    const first = rejected[0];
    super(
      `table ${tableName} refused ${rejected.length === 1 ? 'the change' : `${rejected.length} changes, the first`} at seq ${first.change.seq}: ${first.reason}` +
        ' (a transactional target applies whole source transactions or nothing: fix the row or the target, or turn the option transactional off to let it become a dead letter)',
      options,
    );
    this.name = 'TransactionRefusedError';
  }
}

/** The target configuration itself is unusable (unknown kind, bad URL). */
export class TargetConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetConfigError';
  }
}

/** The target's URL is unusable (scheme, path, database). */
export class TargetUrlError extends TargetConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'TargetUrlError';
  }
}

/** A target option is unknown, missing or has a bad value. */
export class TargetOptionError extends TargetConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'TargetOptionError';
  }
}

/**
 * The target cannot be read back (a webhook without a readUrl), so readRows,
 * readRowsByKeys and scanRows are refused and a route to it cannot be
 * verified. A TargetConfigError: retrying can never help.
 */
export class TargetNotReadableError extends TargetConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'TargetNotReadableError';
  }
}

/** Conflict detection asked of a target that cannot lock and read its rows in the apply transaction (Redis, HTTP). */
/** A target that keeps one version per row: it cannot take rows of several sources with one key (ApplyBatch.versions). */
export function versionsPerSourceNotSupported(kind: string): TargetConfigError {
  return new TargetConfigError(
    `a ${kind} target keeps one version per row: rows of several sources with one key need a postgres, mysql or sqlite target (or a computed source key column)`,
  );
}

export function conflictsNotSupported(kind: string): TargetConfigError {
  return new TargetConfigError(
    `a ${kind} target cannot detect conflicts (its rows cannot be read and locked with the write); conflict policies need a postgres, mysql or sqlite target`,
  );
}

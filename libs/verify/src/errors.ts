/** Typed errors: the admin maps them to HTTP statuses and the CLI to exit status 2, never by message text. */

/** No route with this id. */
export class UnknownRouteError extends Error {
  constructor(readonly routeId: string) {
    super(`no route ${JSON.stringify(routeId)}`);
    this.name = 'UnknownRouteError';
  }
}

/**
 * The route cannot be verified as configured: its table is not captured, its
 * target is gone or cannot be read back (a webhook without a readUrl), its
 * filter or mapping does not fit the table. Retrying does not help.
 */
export class VerifyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyConfigError';
  }
}

/** The repair records were written but the route did not apply them in time (paused, stalled, far behind). */
export class RepairNotAppliedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepairNotAppliedError';
  }
}

/** The run was stopped from outside (the process is shutting down). */
export class VerifyAbortedError extends Error {
  constructor() {
    super('stopped before it finished (the process is shutting down)');
    this.name = 'VerifyAbortedError';
  }
}

/** A verify or repair of the route is running already, in this process or another. */
export class RunBusyError extends Error {
  constructor(readonly routeId: string) {
    super(`a verify or repair of route ${routeId} is already running`);
    this.name = 'RunBusyError';
  }
}

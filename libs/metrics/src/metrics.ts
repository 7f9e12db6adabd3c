import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every failure and every delay is visible (invariant 9). One registry per
 * process; names prefixed `tributary_`. The all-in-one process shares it.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly conflicts = new Counter({
    name: 'tributary_conflicts_total',
    help: "Changes whose expectation about the target row did not hold, by the route's decision (applied, kept, merged, written, deleted, parked, refused)",
    labelNames: ['route', 'decision'],
    registers: [this.registry],
  });
  readonly snapshotRowsCopied = new Counter({
    name: 'tributary_snapshot_rows_copied_total',
    help: 'Source rows an initial copy or re-sync wrote as copy records for a route',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly snapshotProgress = new Gauge({
    name: 'tributary_snapshot_progress_ratio',
    help: 'Share of the source rows an initial copy or re-sync has copied (estimated; 1 once copied)',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly snapshotChunkRetries = new Counter({
    name: 'tributary_snapshot_chunk_retries_total',
    help: 'Copy chunks retried because application transactions held their rows, or the source failed',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly changesRelayed = new Counter({
    name: 'tributary_changes_enqueued_total',
    help: 'Changes the relay handed to a route (in the seq ranges of its jobs)',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly changesApplied = new Counter({
    name: 'tributary_changes_applied_total',
    help: 'Changes a worker committed at the target (skipped replays not counted)',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly changesSkipped = new Counter({
    name: 'tributary_changes_skipped_total',
    help: 'Changes not applied because the target row was already newer (replays, duplicates)',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly changesFiltered = new Counter({
    name: 'tributary_changes_filtered_total',
    help: "Changes not sent to the target because the route's filter matches the row neither before nor after",
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'tributary_dead_letters_total',
    help: 'Changes a target refused for good, recorded as dead letters',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'tributary_retries_total',
    help: 'Batches put back for a later retry after a transient error',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly holesClosed = new Counter({
    name: 'tributary_holes_closed_total',
    help: 'Missing seqs closed: exact (rollback proven by a locking probe) or timeout (last resort)',
    labelNames: ['source', 'how'],
    registers: [this.registry],
  });
  readonly lateCommits = new Counter({
    name: 'tributary_late_commits_total',
    help: 'Rows that committed after their hole was closed by timeout (delivered late)',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly redisRewinds = new Counter({
    name: 'tributary_redis_rewinds_total',
    help: 'Times the relay found Redis had lost its data and re-sent from the route checkpoints',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly openHoles = new Gauge({
    name: 'tributary_relay_open_holes',
    help: 'Missing seqs the relay is waiting on',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly relayLeading = new Gauge({
    name: 'tributary_relay_leading',
    help: '1 while this relay process leads the source, 0 while it stands by: summed over processes, 0 means nobody leads it',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly relayPosition = new Gauge({
    name: 'tributary_relay_seq',
    help: 'Relay position: high = highest seq read, watermark = every seq at or below is delivered',
    labelNames: ['source', 'kind'],
    registers: [this.registry],
  });
  readonly outboxPurged = new Counter({
    name: 'tributary_outbox_purged_total',
    help: 'Outbox rows deleted after every route applied them',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly pollDuration = new Histogram({
    name: 'tributary_relay_poll_duration_seconds',
    help: 'One relay cycle: read, probe, enqueue, checkpoint',
    labelNames: ['source'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /** Issue #15: how large the target transactions of a transactional target get (its locks and undo grow with them). */
  readonly transactionJobRows = new Histogram({
    name: 'tributary_transaction_job_rows',
    help: 'Changes of one job of a transactional target, applied in one target transaction across its tables',
    labelNames: ['source', 'target'],
    buckets: [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000],
    registers: [this.registry],
  });
  readonly transactionJobDuration = new Histogram({
    name: 'tributary_transaction_job_duration_seconds',
    help: 'One job of a transactional target, from opening its target transaction to its commit',
    labelNames: ['source', 'target'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly applyDuration = new Histogram({
    name: 'tributary_batch_apply_duration_seconds',
    help: 'Applying one batch at the target, in one transaction',
    labelNames: ['route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly lagSeconds = new Gauge({
    name: 'tributary_route_lag_seconds',
    help: 'Age of the last change applied by the route when it was applied (capture to commit)',
    labelNames: ['route'],
    registers: [this.registry],
  });

  readonly changesCaptured = new Counter({
    name: 'tributary_changes_captured_total',
    help: 'Outbox rows the relay read, per source table (rows re-read after a Redis rewind count again)',
    labelNames: ['source', 'table'],
    registers: [this.registry],
  });
  readonly routeBacklogChanges = new Gauge({
    name: 'tributary_route_backlog_changes',
    help: "Changes in the source outbox past the route's checkpoint, not yet applied (counted up to a cap); set by admin",
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly routeBacklogSeconds = new Gauge({
    name: 'tributary_route_backlog_seconds',
    help: 'Age of the oldest change of the route not yet applied (0 when caught up); set by admin',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly routeState = new Gauge({
    name: 'tributary_route_state',
    help: "1 for the route's state as the status API reports it (running, lagging, paused, failing, stalled), 0 for the others; set by admin",
    labelNames: ['route', 'state'],
    registers: [this.registry],
  });
  readonly conflictsOpen = new Gauge({
    name: 'tributary_conflicts_open',
    help: 'Conflicts parked for a person (manual policy) and not decided yet; set by admin',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly deadLettersOpen = new Gauge({
    name: 'tributary_dead_letters_open',
    help: 'Dead letters waiting for a decision (retry or discard); set by admin',
    labelNames: ['route'],
    registers: [this.registry],
  });
  readonly deadLetterRetries = new Counter({
    name: 'tributary_dead_letter_retries_total',
    help: 'Dead letters retried by a worker: applied, superseded (the row had moved on) or refused again',
    labelNames: ['route', 'outcome'],
    registers: [this.registry],
  });
  readonly deadLettersDiscarded = new Counter({
    name: 'tributary_dead_letters_discarded_total',
    help: 'Dead letters discarded through the admin API (each with who and why)',
    labelNames: ['route'],
    registers: [this.registry],
  });

  readonly tableRebuilds = new Counter({
    name: 'tributary_source_table_rebuilds_total',
    help: 'Captured tables found truncated or rebuilt (a new InnoDB table id: TRUNCATE fires no trigger); each starts a repair of the table\'s routes',
    labelNames: ['source', 'table'],
    registers: [this.registry],
  });

  readonly captureDrift = new Gauge({
    name: 'tributary_capture_drift',
    help: '1 when a captured table no longer matches its installed triggers (altered after capture): regenerate them',
    labelNames: ['source', 'table'],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'tributary_process_' });
  }
}

import { TableNameSpan, WireChange } from '@tributary/model';

/** Rows of the control schema, as the rest of Tributary sees them. */

export interface SourceRecord {
  id: string;
  /** Secret: carries credentials. Never returned by the API or logged unredacted. */
  url: string;
}

export interface TargetRecord {
  id: string;
  kind: string;
  /** Secret, like SourceRecord.url. */
  url: string;
  options: Record<string, unknown>;
}

/**
 * Whether the target asks for whole source transactions (its option
 * `transactional`, validated by its kind when stored): the relay then feeds
 * its routes of a source as one stream, the worker applies each job in one
 * target transaction (issue #15).
 */
export function isTransactional(target: Pick<TargetRecord, 'options'>): boolean {
  return target.options?.transactional === true;
}

export interface RouteRecord {
  id: string;
  sourceId: string;
  table: string;
  targetId: string;
  targetTable: string;
  enabled: boolean;
  /**
   * Row filter text, column mapping and conflict policy (@tributary/replication).
   * Absent or null: every row, columns as the source has them, no conflict
   * detection (the newest change of a row wins).
   */
  filter?: string | null;
  mapping?: Record<string, unknown> | null;
  conflictPolicy?: Record<string, unknown> | null;
  /** When the route was created (absent for one not stored yet). */
  createdAt?: Date;
  /** Pass on only the application's own writes, nothing Tributary applied at the source (RouteSelector.localOnly). */
  localOnly?: boolean;
  /**
   * Partitions by key hash (absent: 1, one ordered stream): each is applied
   * in order by one worker at a time, the partitions side by side (see
   * @tributary/model partitions).
   */
  partitions?: number;
  /** What its target does with a column the source drops (issue #17): keep it (default; new rows leave it NULL) or drop it. */
  droppedColumns?: 'keep' | 'drop';
  /**
   * The schema change (tributary_schema_changes id) whose column names its
   * filter, mapping and conflict policy are written in; null or absent: the
   * newest. Set when a change renames columns and the rules are rewritten.
   */
  namesAsOf?: number | null;
  /**
   * The names the route's table had, each for its stretch of the outbox,
   * when it was renamed through Tributary (read from the table renames, not
   * stored with the route). Absent: it was never renamed.
   */
  names?: TableNameSpan[];
}

/** The parts of a route that can change after it is created. */
export interface RouteChanges {
  enabled?: boolean;
  targetTable?: string;
  /** null clears the filter. */
  filter?: string | null;
  /** null clears the mapping. */
  mapping?: Record<string, unknown> | null;
  /** null clears the conflict policy. */
  conflictPolicy?: Record<string, unknown> | null;
  partitions?: number;
  localOnly?: boolean;
  droppedColumns?: 'keep' | 'drop';
}

export interface CapturedTableRecord {
  sourceId: string;
  table: string;
  schemaHash: string;
  /** The table's InnoDB id as last seen (null: not yet, or capture was installed again since). */
  innodbTableId?: number | null;
  /** When the id last changed: the table was truncated or rebuilt. */
  rebuiltAt?: Date | null;
}

/** The relay's durable position for one source (see libs/relay for the meaning of holes). */
export interface RelayStateRecord {
  sourceId: string;
  epoch: number;
  watermark: number;
  high: number;
  holes: unknown;
  leader: string | null;
}

/**
 * A route's applied progress. For a partitioned route, its partitions' taken
 * together: the watermark is the lowest (every change at or below it is
 * applied in every partition; 0 while a partition has none yet), counts are
 * summed, times and seqs the latest, the error the latest one not yet
 * cleared by its partition applying again.
 */
export interface RouteProgressRecord {
  routeId: string;
  watermark: number;
  maxSeq: number;
  appliedTotal: number;
  lastChangeTs: number | null;
  lastAppliedAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  /**
   * Every change of the route in a source transaction that committed before
   * this moment (µs since the epoch, the source server's clock) is applied,
   * whatever is still open below the watermark; null until known. A
   * partitioned route's is its partitions' lowest.
   */
  coveredMicros: number | null;
  /** A partitioned route's partitions, in order, each as its own progress (absent for an unpartitioned route). */
  partitions?: FeedProgressRecord[];
}

/** One feed's progress row: a route's, or one partition's (its id is then the feed id `<route>.p<i>of<n>`). */
export type FeedProgressRecord = Omit<RouteProgressRecord, 'partitions'>;

export interface DeadLetterInput {
  routeId: string;
  seq: number;
  /** '' for a change whose seq is its own; for a row of a copy chunk (which shares its seq), the sha1 of its key image. */
  rowKey: string;
  table: string;
  op: string;
  change: unknown;
  reason: string;
  code: string | null;
}

/** open → retrying → retried (or back to open if refused again); open → discarded. */
export type DeadLetterStatus = 'open' | 'retrying' | 'retried' | 'discarded';

/** A dead letter as stored: the refused change, why, and how it was resolved (never deleted). */
export interface DeadLetterRecord {
  id: number;
  routeId: string;
  seq: number;
  table: string;
  op: string;
  /** The WireChange as the relay delivered it (JSON in the `change` column). */
  change: WireChange;
  reason: string;
  code: string | null;
  status: DeadLetterStatus;
  /** How many times the target refused it (1 at first, + 1 per refused retry). */
  attempts: number;
  createdAt: Date;
  /** retrying: when the retry was asked for; retried/discarded: when that happened. */
  resolvedAt: Date | null;
  /** Who asked for the retry, or who discarded it. */
  resolvedBy: string | null;
  /** retrying: the job; retried: applied or superseded; discarded: the reason given. */
  resolutionNote: string | null;
}

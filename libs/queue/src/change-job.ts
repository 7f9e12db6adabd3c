import { feedId, RoutePartition, WireChange } from '@tributary/model';

/** An inclusive run of outbox seqs. */
export interface SeqRange {
  from: number;
  to: number;
}

interface RouteJobBase {
  sourceId: string;
  routeId: string;
  table: string;
}

/**
 * The relay's job for a route: "your changes are in these seq ranges of the
 * source outbox". The worker reads them from the outbox itself (the outbox is
 * the buffer, invariant 1), so a job is a few bytes whatever the backlog, and
 * everything that arrived while the route was busy lands in one job: group
 * commit instead of a deep queue of small jobs.
 *
 * Ranges are ascending and disjoint. They may hold other tables' rows, echoes
 * and other routes' copy records; the worker keeps only what `routeWants`.
 */
export interface RangeJobData extends RouteJobBase {
  v: 2;
  kind: 'range';
  ranges: SeqRange[];
  /**
   * Every change of this route with seq <= watermark is in these ranges or
   * an earlier job's; the worker saves it as the target checkpoint. A job
   * with no ranges only moves the watermark.
   */
  watermark: number;
  /** The partition of a partitioned route this job is for (absent: the whole route). */
  partition?: RoutePartition;
  /**
   * With this job applied, every change of the route (partition) in a source
   * transaction that committed before this moment (µs since the epoch, the
   * source's clock) is applied (RouteFeed.coveredMicros). Absent: unknown.
   */
  coveredMicros?: number;
}

/**
 * Dead letters retried (enqueued by admin): `retryOf[i]` is the id of the
 * letter that holds `changes[i]`. Applied with `reapply` (the same seq goes
 * through again) and never moves the checkpoint (invariant 3).
 */
export interface RetryJobData extends RouteJobBase {
  v: 2;
  kind: 'retry';
  changes: WireChange[];
  retryOf: number[];
}

/**
 * A person's decision on parked (manual) conflicts of one key, enqueued by
 * admin: the worker applies `changes` (the latest parked change of the key)
 * without conflict detection and with `reapply`, writing `row` (target
 * columns) instead of the change's after image when the action is 'merge',
 * then marks `conflictIds` resolved. Never moves the checkpoint.
 */
export interface ResolutionJobData extends RouteJobBase {
  v: 2;
  kind: 'resolution';
  changes: WireChange[];
  resolution: { conflictIds: number[]; action: 'apply-source' | 'merge'; row: Record<string, unknown> | null; actor: string };
}

/**
 * A job of the first format (changes carried inline), as a relay before
 * version 2 left it in Redis: still applied after an upgrade, never written.
 */
export interface InlineChangesJobData extends RouteJobBase {
  v: 1;
  watermark: number;
  changes: WireChange[];
  retryOf?: number[];
  resolution?: ResolutionJobData['resolution'];
}

/** A route's jobs in its source's queue: one typed shape per purpose, told apart by `kind`. */
export type RouteJobData = RangeJobData | RetryJobData | ResolutionJobData;

/**
 * The relay's job for a transactional target (issue #15): the changes of
 * all the source's routes into it, in `ranges`, holding whole source
 * transactions only (SourceRelay: a transaction feed hands out what it is
 * owed only after a read that saw everything). The worker applies the job
 * in ONE target transaction, across tables, and moves every route's
 * checkpoint to `watermark` in it.
 */
export interface TransactionJobData {
  v: 2;
  kind: 'transaction';
  sourceId: string;
  targetId: string;
  /** The routes applied together (each read with routeWants, as its own range job would be). */
  routes: Array<{ routeId: string; table: string }>;
  ranges: SeqRange[];
  /** As RangeJobData.watermark, for every route of the job. */
  watermark: number;
  /** As RangeJobData.coveredMicros, for every route of the job. */
  coveredMicros?: number;
}

/** The feed (and job id prefix) of a source's routes into a transactional target: never a route id (those hold no '.'). */
export function transactionFeedId(targetId: string): string {
  return `txn.${targetId}`;
}

/** Jobs the relay keeps one of in flight per feed: it learns when they are done. */
export type RelayJobData = RangeJobData | TransactionJobData;

export function transactionJobId(data: TransactionJobData): string {
  const { ranges } = data;
  const feed = transactionFeedId(data.targetId);
  if (ranges.length === 0) return `${feed}.w${data.watermark}`;
  return `${feed}.s${ranges[0].from}-${ranges[ranges.length - 1].to}-n${ranges.length}-w${data.watermark}`;
}

/** What the worker may find in a queue, including jobs an older relay or admin wrote. */
export type QueuedJobData = RouteJobData | TransactionJobData | InlineChangesJobData;

/** The jobs of one route (all but a transaction job). */
export type RouteQueuedJobData = RouteJobData | InlineChangesJobData;

/** A first-format relay job: its changes inline, with the watermark they cover. */
export interface InlineChangesJob extends RouteJobBase {
  kind: 'changes';
  watermark: number;
  changes: WireChange[];
}

/** Reads a first-format job as the union (a plain change job keeps its watermark). */
export function upgradeJob(data: RouteJobData | InlineChangesJobData): RouteJobData | InlineChangesJob {
  if (data.v === 2) return data;
  const base = { sourceId: data.sourceId, routeId: data.routeId, table: data.table };
  if (data.resolution) return { ...base, v: 2, kind: 'resolution', changes: data.changes, resolution: data.resolution };
  if (data.retryOf && data.retryOf.length > 0) return { ...base, v: 2, kind: 'retry', changes: data.changes, retryOf: data.retryOf };
  return { ...base, kind: 'changes', watermark: data.watermark, changes: data.changes };
}

export const CHANGE_JOB_NAME = 'changes';

/**
 * One queue per source carries the jobs of all its routes: a worker process
 * then holds one blocking Redis connection per source, not one per route
 * (1,000 routes were 1,001 connections). Order within a route holds because
 * the relay keeps at most one range job of a route unfinished (see
 * SourceRelay.dispatch); admin's retries and decisions are safe beside it
 * (apply is guarded per row, invariant 4, and never moves the checkpoint).
 * BullMQ rule: queue names and job ids never contain ':'. The braces are a
 * hash tag: on a Redis Cluster every key of the queue (and sourceHashTag's
 * other keys) lands in one slot, as BullMQ's multi-key scripts need.
 */
export function sourceQueueName(sourceId: string): string {
  return sourceHashTag(sourceId);
}

/** `{source-<id>}`: the hash tag every Redis key of a source carries (queue, loss marker). */
export function sourceHashTag(sourceId: string): string {
  return `{source-${sourceId}}`;
}

/**
 * Deterministic, so a relay that re-sends the same ranges while that job is
 * still queued does not add it twice. (Re-sending after it completed is
 * harmless either way: apply is idempotent.) Names the route's feed (the
 * route, or its partition): the queue is the source's.
 */
export function rangeJobId(data: RangeJobData): string {
  const { ranges } = data;
  const feed = feedId(data.routeId, data.partition);
  if (ranges.length === 0) return `${feed}.w${data.watermark}`;
  return `${feed}.s${ranges[0].from}-${ranges[ranges.length - 1].to}-n${ranges.length}-w${data.watermark}`;
}

/**
 * A retry is a deliberate, one-off act, so its id is unique rather than
 * deterministic; the `r` prefix keeps it apart from relay jobs (and never
 * digits-only, never a ':').
 */
export function retryJobId(letterIds: readonly number[], requestedAt: number, nonce: string): string {
  return `r${letterIds[0]}-${letterIds[letterIds.length - 1]}-n${letterIds.length}-t${requestedAt}-${nonce}`;
}

/** Rough size of a change in memory, to bound a target batch without serialising it. */
export function wireChangeBytes(change: WireChange): number {
  return 96 + change.table.length + change.pk.length + (change.before?.length ?? 0) + (change.after?.length ?? 0);
}

/**
 * Splits items (in order) into runs of at most `maxRows` items and about
 * `maxBytes` bytes of changes (invariant 7; a run holds at least one item);
 * `apart` starts a new run between two neighbours it names.
 */
export function boundedRuns<T>(
  items: readonly T[],
  changeOf: (item: T) => WireChange,
  bounds: { maxRows: number; maxBytes: number },
  apart: (previous: T, next: T) => boolean = () => false,
): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = wireChangeBytes(changeOf(item));
    if (run.length > 0 && (run.length >= bounds.maxRows || bytes + size > bounds.maxBytes || apart(run[run.length - 1], item))) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(item);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

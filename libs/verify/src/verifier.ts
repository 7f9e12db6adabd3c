import { Knex } from 'knex';
import { ProgressRepository, RouteRecord } from '@tributary/control';
import { keyText, Row, TableSchema } from '@tributary/model';
import { OutboxRepository } from '@tributary/outbox';
import { FilterError, filterToMysql } from '@tributary/replication';
import { RowCondition, SourceTable } from '@tributary/snapshot';
import { Target, TargetNotReadableError } from '@tributary/targets';
import { VerifyAbortedError, VerifyConfigError } from './errors';
import { RouteExpectation } from './expectation';
import { canonicalRow, differingColumns, jsonRow, rowKeyText, rowsChecksum } from './normalise';

/** What verify needs of one route: its configuration and open connections to both sides. */
export interface VerifyDeps {
  route: RouteRecord;
  /** The table's current captured schema. */
  schema: TableSchema;
  expectation: RouteExpectation;
  /** The source database (openMysql: READ COMMITTED, UTC). Only plain reads: nothing is locked. */
  source: Knex;
  /** The source's outbox: how far capture is, to wait for the route to apply it. */
  outbox: OutboxRepository;
  progress: ProgressRepository;
  target: Target;
  /**
   * The other routes that write the same target table (shareTargetTable, or
   * several sources): a target row the route's source does not have may be
   * theirs, so it is never called extra (and a repair never deletes it).
   */
  sharedWith: readonly string[];
  /**
   * With sharedWith: the table keeps the sources' rows apart by a computed
   * key column of value `source` (fan-in), and the route is its source's
   * only one there — rows holding the source's id in that column are the
   * route's own, looked for as extras like an unshared table's.
   */
  ownedBy?: { column: string; value: string };
}

export interface VerifyOptions {
  /** Source rows per chunk (and target rows per scan page). Default 1000. */
  chunkRows?: number;
  /** How long one re-check round waits for the route to apply what the outbox holds. Default 30 s. */
  settleTimeoutMs?: number;
  /** Re-check rounds for rows that differ (replication is live: a difference may be lag). Default 3. */
  settleRounds?: number;
  /** Differences kept with both rows in the result. Default 100. */
  sampleSize?: number;
  /** Polling interval while waiting for the route. Default 200 ms. */
  pollMs?: number;
  signal?: AbortSignal;
  onProgress?(progress: VerifyProgress): void;
}

export interface VerifyProgress {
  phase: 'source' | 'target' | 'settle';
  sourceRows: number;
  targetRows: number;
  suspects: number;
}

export type DifferenceKind = 'missing' | 'extra' | 'different';

/** One row the target has wrong: rows as JSON-safe data (bytes as {"$b64": …}). */
export interface Difference {
  kind: DifferenceKind;
  /** The row's key at the target. */
  key: Record<string, unknown>;
  /** The row the target should hold (null: it should hold none). */
  expected: Record<string, unknown> | null;
  /** The row the target holds (null: none). */
  actual: Record<string, unknown> | null;
  /** For 'different': the compared columns that differ. */
  columns?: string[];
}

export interface VerifyResult {
  routeId: string;
  /** Source rows that belong at the target (after the route's filter). */
  sourceRows: number;
  /** Rows the target table holds. */
  targetRows: number;
  missing: number;
  extra: number;
  different: number;
  /** The first differences (at most sampleSize), with both rows. */
  differences: Difference[];
  /** Source keys of every difference: what a repair re-sends. */
  repairKeys: Row[];
  /**
   * False when the route did not catch up with the outbox while differences
   * were re-checked (paused, stalled, far behind): some of them may be lag.
   */
  settled: boolean;
  /** Target columns not compared (computed from the change that wrote the row). */
  ignoredColumns: string[];
  /** False when the target table is shared (VerifyDeps.sharedWith) and its rows are not kept apart by source: rows the source does not have were not looked for. */
  extrasChecked: boolean;
}

export function matched(result: Pick<VerifyResult, 'missing' | 'extra' | 'different'>): boolean {
  return result.missing + result.extra + result.different === 0;
}

/** A key seen to differ in a pass; re-checked before it is reported. */
interface Suspect {
  sourceKey: Row;
  targetKey: Row;
}

interface Finding extends Suspect {
  kind: DifferenceKind;
  expected: Row | null;
  actual: Row | null;
}

/** Keys per re-read (targets batch their own reads too). */
const KEYS_PER_READ = 500;

/**
 * Compares a route's target with its source, like pt-table-checksum across
 * kinds of database:
 *
 * 1. source → target: the source in key-ordered chunks (plain reads, the
 *    route's filter pushed down as a superset), each row turned into the row
 *    the target should hold; the target read for those keys; a checksum per
 *    chunk on normalised values, and only a chunk whose checksums differ is
 *    compared row by row (missing, different);
 * 2. target → source: the whole target table page by page, each key looked up
 *    at the source; a row the source does not have, or whose source row the
 *    filter keeps out, is extra — unless other routes write the table too
 *    (then the row may be theirs: the pass only counts rows);
 * 3. replication is live, so a difference may be a change not applied yet:
 *    suspects are re-read on both sides after the route has applied what the
 *    outbox held, up to settleRounds times; only what still differs counts.
 */
export async function verifyRoute(deps: VerifyDeps, options: VerifyOptions = {}): Promise<VerifyResult> {
  const chunkRows = options.chunkRows ?? 1000;
  const { expectation } = deps;
  const table = new SourceTable(deps.schema);
  const condition = pushedDownFilter(deps.route, deps.schema);
  const suspects = new Map<string, Suspect>();
  const counts = { sourceRows: 0, targetRows: 0 };
  const report = (phase: VerifyProgress['phase']) => options.onProgress?.({ phase, ...counts, suspects: suspects.size });

  // Pass 1: source → target.
  for (let after: Row | null = null; ; ) {
    checkAborted(options.signal);
    const upTo = await table.chunkEnd(deps.source, after, chunkRows);
    const images = await table.readRange(deps.source, { after, upTo }, condition);
    const expected: Array<{ sourceKey: Row; row: Row }> = [];
    for (const image of images) {
      const decoded = table.decode(image);
      const row = expectation.expected(decoded.row);
      if (row) expected.push({ sourceKey: decoded.key, row });
    }
    counts.sourceRows += expected.length;
    const actual = await readTarget(deps.target, expectation, expected.map((e) => expectation.targetKeyOf(e.sourceKey)));
    const expectedRows = expected.map((e) => e.row);
    if (rowsChecksum(expectation.comparison, expectedRows) !== rowsChecksum(expectation.comparison, [...actual.values()])) {
      for (const { sourceKey, row } of expected) {
        const found = actual.get(rowKeyText(expectation.comparison, row));
        if (!found || canonicalRow(expectation.comparison, found) !== canonicalRow(expectation.comparison, row)) {
          suspects.set(rowKeyText(expectation.comparison, row), { sourceKey, targetKey: expectation.targetKeyOf(sourceKey) });
        }
      }
    }
    report('source');
    if (!upTo) break;
    after = upTo;
  }

  // Pass 2: target → source, for rows the target should not have.
  const owned = deps.sharedWith.length === 0 ? null : deps.ownedBy ?? null;
  const extrasChecked = deps.sharedWith.length === 0 || owned !== null;
  for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
    checkAborted(options.signal);
    const page = await notReadable(deps.target, () => deps.target.scanRows(expectation.spec, cursor, chunkRows));
    // Of a table shared by sources kept apart: this route's rows only (the others are the other routes').
    const rows = owned ? page.rows.filter((row) => row[owned.column] === owned.value) : page.rows;
    counts.targetRows += rows.length;
    cursor = page.next;
    report('target');
    if (!extrasChecked) continue;
    const sourceRows = await readSource(deps, table, rows.map((row) => expectation.sourceKeyOf(row)));
    for (const row of rows) {
      const key = rowKeyText(expectation.comparison, row);
      if (suspects.has(key)) continue; // found in pass 1 already: counted once, after the re-check
      const source = sourceRows.get(keyText(deps.schema.key, expectation.sourceKeyOf(row)));
      if (!source || !expectation.expected(source)) {
        const sourceKey = expectation.sourceKeyOf(row);
        suspects.set(key, { sourceKey, targetKey: expectation.targetKeyOf(sourceKey) });
      }
    }
  }

  const { findings, settled } = await settle(deps, table, [...suspects.values()], options, () => report('settle'));
  const sampleSize = options.sampleSize ?? 100;
  return {
    routeId: deps.route.id,
    ...counts,
    missing: findings.filter((f) => f.kind === 'missing').length,
    extra: findings.filter((f) => f.kind === 'extra').length,
    different: findings.filter((f) => f.kind === 'different').length,
    differences: findings.slice(0, sampleSize).map((f) => toDifference(expectation, f)),
    repairKeys: findings.map((f) => f.sourceKey),
    settled,
    ignoredColumns: [...expectation.ignored],
    extrasChecked,
  };
}

/**
 * Re-checks suspects once the route has applied everything the outbox held
 * when the round began. A round that changes nothing after a full catch-up
 * is final: what differs then is not lag.
 */
async function settle(
  deps: VerifyDeps,
  table: SourceTable,
  suspects: Suspect[],
  options: VerifyOptions,
  report: () => void,
): Promise<{ findings: Finding[]; settled: boolean }> {
  const rounds = options.settleRounds ?? 3;
  let findings: Finding[] = [];
  let previous: string | null = null;
  let pending = suspects;
  for (let round = 0; round < rounds && pending.length > 0; round++) {
    checkAborted(options.signal);
    const goal = await deps.outbox.maxSeq();
    const caughtUp = await waitForWatermark(deps.progress, deps.route.id, goal, options.settleTimeoutMs ?? 30_000, options.pollMs ?? 200, options.signal);
    findings = await recheck(deps, table, pending);
    pending = findings;
    report();
    // Not caught up: waiting longer would not tell lag from a difference either.
    if (!caughtUp) return { findings, settled: false };
    const { comparison } = deps.expectation;
    const signature = JSON.stringify(
      findings.map((f) => [f.kind, keyText(deps.schema.key, f.sourceKey), f.expected && canonicalRow(comparison, f.expected), f.actual && canonicalRow(comparison, f.actual)]),
    );
    if (signature === previous) break;
    previous = signature;
  }
  return { findings, settled: true };
}

/** Reads the suspects' keys again on both sides and keeps those that still differ. */
async function recheck(deps: VerifyDeps, table: SourceTable, suspects: Suspect[]): Promise<Finding[]> {
  const { expectation } = deps;
  const findings: Finding[] = [];
  for (let i = 0; i < suspects.length; i += KEYS_PER_READ) {
    const batch = suspects.slice(i, i + KEYS_PER_READ);
    const sources = await readSource(deps, table, batch.map((s) => s.sourceKey));
    const targets = await readTarget(deps.target, expectation, batch.map((s) => s.targetKey));
    for (const suspect of batch) {
      const source = sources.get(keyText(deps.schema.key, suspect.sourceKey));
      const expected = source ? expectation.expected(source) : null;
      const actual = targets.get(rowKeyText(expectation.comparison, suspect.targetKey)) ?? null;
      const kind = classify(deps, expected, actual);
      if (kind) findings.push({ ...suspect, kind, expected, actual });
    }
  }
  return findings;
}

function classify(deps: VerifyDeps, expected: Row | null, actual: Row | null): DifferenceKind | null {
  if (expected && !actual) return 'missing';
  if (!expected && actual) return 'extra';
  if (expected && actual && canonicalRow(deps.expectation.comparison, expected) !== canonicalRow(deps.expectation.comparison, actual)) return 'different';
  return null;
}

/** Target rows of these keys, by key text. */
async function readTarget(target: Target, expectation: RouteExpectation, keys: Row[]): Promise<Map<string, Row>> {
  if (keys.length === 0) return new Map();
  const rows = await notReadable(target, () => target.readRowsByKeys(expectation.spec, keys));
  return new Map(rows.map((row) => [rowKeyText(expectation.comparison, row), row]));
}

/** Decoded source rows of these keys (absent keys absent), by source key text. */
async function readSource(deps: VerifyDeps, table: SourceTable, keys: Row[]): Promise<Map<string, Row>> {
  const rows = new Map<string, Row>();
  for (let i = 0; i < keys.length; i += KEYS_PER_READ) {
    for (const image of await table.readKeys(deps.source, keys.slice(i, i + KEYS_PER_READ))) {
      const decoded = table.decode(image);
      rows.set(keyText(deps.schema.key, decoded.key), decoded.row);
    }
  }
  return rows;
}

/**
 * Waits until the route's applied watermark reaches `seq`; false on timeout.
 * Exported for repair, which waits for its own copy records the same way.
 */
export async function waitForWatermark(
  progress: ProgressRepository,
  routeId: string,
  seq: number,
  timeoutMs: number,
  pollMs = 200,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkAborted(signal);
    const [state] = await progress.listProgress([routeId]);
    if (state && state.watermark >= seq) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The route's filter as a MariaDB condition that keeps at least every matching row (or null: read all). */
function pushedDownFilter(route: RouteRecord, schema: TableSchema): RowCondition {
  if (!route.filter) return null;
  try {
    return filterToMysql(route.filter, schema.columns, 'src');
  } catch (error) {
    if (error instanceof FilterError) throw new VerifyConfigError(`route ${route.id}: the filter does not fit table ${route.table} as captured: ${error.message}`);
    throw error;
  }
}

/** A webhook without a readUrl cannot be read back: a clear, typed refusal instead of a crash. */
async function notReadable<T>(target: Target, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof TargetNotReadableError) {
      throw new VerifyConfigError(`the route's target (${target.kind}) cannot be read back, so it cannot be verified: ${error.message}`);
    }
    throw error;
  }
}

function toDifference(expectation: RouteExpectation, finding: Finding): Difference {
  return {
    kind: finding.kind,
    key: jsonRow(finding.targetKey),
    expected: finding.expected && jsonRow(finding.expected),
    actual: finding.actual && jsonRow(finding.actual),
    ...(finding.kind === 'different' ? { columns: differingColumns(expectation.comparison, finding.expected!, finding.actual!) } : {}),
  };
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new VerifyAbortedError();
}

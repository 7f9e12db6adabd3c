/**
 * Initial copy (snapshot), re-sync and repair: current source rows written
 * into the outbox as copy records for one route, so they travel the normal
 * pipeline and the target's seq guard orders them against live changes.
 */
export { CopyContendedError, SourceCopier } from './copier';
export type { ChunkCopy, KeysCopy } from './copier';
export { decodeKeyText, encodeKey, keyAfter, keyColumns, keyIn, keyOrder, keyUpTo } from './key-sql';
export type { SqlFragment } from './key-sql';
export { progressLine, snapshotProgress } from './progress';
export type { SnapshotProgress } from './progress';
export { SnapshotRunner } from './snapshot-runner';
export type { SnapshotRunnerDeps } from './snapshot-runner';
export { SourceTable } from './source-table';
export type { DecodedRow, ImageRow, RowCondition } from './source-table';

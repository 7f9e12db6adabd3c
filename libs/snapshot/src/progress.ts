import { SnapshotRecord } from '@tributary/control';

/** How far a copy is, for the status API, the CLI and the copier's log lines. */
export interface SnapshotProgress {
  rowsCopied: number;
  rowsEstimated: number | null;
  /** 0..1, from the estimate (table statistics), 1 once every row is copied. */
  fraction: number | null;
  /** Seconds left to copy the remaining rows at the rate so far; null before there is a rate. */
  etaSeconds: number | null;
}

export function snapshotProgress(snapshot: Pick<SnapshotRecord, 'status' | 'rowsCopied' | 'rowsEstimated' | 'startedAt'>, now = Date.now()): SnapshotProgress {
  const copiedAll = snapshot.status === 'catching_up' || snapshot.status === 'done';
  const estimate = snapshot.rowsEstimated === null ? null : Math.max(snapshot.rowsEstimated, snapshot.rowsCopied);
  const fraction = copiedAll ? 1 : estimate ? snapshot.rowsCopied / estimate : null;
  const elapsed = snapshot.startedAt ? (now - snapshot.startedAt.getTime()) / 1000 : 0;
  const rate = elapsed > 0 ? snapshot.rowsCopied / elapsed : 0;
  const etaSeconds = copiedAll ? 0 : estimate !== null && rate > 0 ? Math.round((estimate - snapshot.rowsCopied) / rate) : null;
  return { rowsCopied: snapshot.rowsCopied, rowsEstimated: estimate, fraction, etaSeconds };
}

/** `[#########...........] 45% 45,000/100,000 rows, about 12 s left` */
export function progressLine(snapshot: Pick<SnapshotRecord, 'status' | 'rowsCopied' | 'rowsEstimated' | 'startedAt'>, now = Date.now(), width = 20): string {
  const progress = snapshotProgress(snapshot, now);
  const fraction = Math.min(1, progress.fraction ?? 0);
  const filled = Math.round(fraction * width);
  const rows = `${progress.rowsCopied.toLocaleString('en-US')}${progress.rowsEstimated !== null ? `/${progress.rowsEstimated.toLocaleString('en-US')}` : ''} rows`;
  const eta = progress.etaSeconds === null ? '' : `, about ${progress.etaSeconds} s left`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)}% ${rows}${eta}`;
}

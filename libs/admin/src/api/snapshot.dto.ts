import { ApiProperty } from '@nestjs/swagger';
import { SnapshotRecord } from '@tributary/control';
import { snapshotProgress } from '@tributary/snapshot';

/** An initial copy or re-sync of one route, and how far it is. */
export class SnapshotDto {
  @ApiProperty({ example: 'orders-pg' })
  routeId!: string;

  @ApiProperty({
    enum: ['pending', 'copying', 'catching_up', 'done', 'failed', 'cancelled'],
    description:
      'pending: waiting for the copier (in the relay); copying: chunks being copied; catching_up: every row copied, the route is ' +
      'applying the rest; done: the target holds every row; failed: see error; cancelled',
  })
  status!: string;

  @ApiProperty({ enum: ['initial', 'resync'] })
  reason!: string;

  @ApiProperty({ type: String, nullable: true })
  requestedBy!: string | null;

  @ApiProperty({ description: 'Rows copied so far' })
  rowsCopied!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Rows the table has, from its statistics (an estimate)' })
  rowsEstimated!: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Share copied, 0..1 (from the estimate; 1 once every row is copied)' })
  fraction!: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Seconds left to copy the rest at the rate so far' })
  etaSeconds!: number | null;

  @ApiProperty({ description: 'Chunks copied (each one short locking read of up to SNAPSHOT_CHUNK_ROWS rows)' })
  chunks!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Outbox position when copying ended: done once the route applied it' })
  finalSeq!: number | null;

  @ApiProperty({ type: String, nullable: true, description: 'Why it failed, or the last problem it is retrying' })
  error!: string | null;

  @ApiProperty()
  requestedAt!: string;

  @ApiProperty({ type: String, nullable: true })
  startedAt!: string | null;

  @ApiProperty({ type: String, nullable: true })
  copiedAt!: string | null;

  @ApiProperty({ type: String, nullable: true })
  finishedAt!: string | null;

  static from(snapshot: SnapshotRecord): SnapshotDto {
    const progress = snapshotProgress(snapshot);
    const iso = (date: Date | null) => (date ? date.toISOString() : null);
    return {
      routeId: snapshot.routeId,
      status: snapshot.status,
      reason: snapshot.reason,
      requestedBy: snapshot.requestedBy,
      rowsCopied: snapshot.rowsCopied,
      rowsEstimated: progress.rowsEstimated,
      fraction: progress.fraction,
      etaSeconds: progress.etaSeconds,
      chunks: snapshot.chunks,
      finalSeq: snapshot.finalSeq,
      error: snapshot.error,
      requestedAt: snapshot.requestedAt.toISOString(),
      startedAt: iso(snapshot.startedAt),
      copiedAt: iso(snapshot.copiedAt),
      finishedAt: iso(snapshot.finishedAt),
    };
  }
}

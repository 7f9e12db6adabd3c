import { ApiProperty } from '@nestjs/swagger';
import { SnapshotDto } from '../../api/snapshot.dto';
import { RouteState } from '../route-state';

export class RouteLagDto {
  @ApiProperty({ type: Number, nullable: true, description: "Changes in the source outbox past the route's checkpoint (null: the source could not be read)" })
  changes!: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Age in seconds of the oldest change not yet applied; 0 when caught up' })
  seconds!: number | null;

  @ApiProperty({ description: 'True when the count stopped at its cap (the backlog is at least `changes`)' })
  capped!: boolean;

  @ApiProperty({ type: String, nullable: true, description: 'Why the source outbox could not be read, if it could not' })
  error!: string | null;
}

export class RouteThroughputDto {
  @ApiProperty({ description: 'Changes applied per second over the window' })
  changesPerSecond!: number;

  @ApiProperty({ description: 'Seconds measured (up to 60; 0 right after an admin restart: samples are in memory)' })
  windowSeconds!: number;
}

export class RouteDeadLettersDto {
  @ApiProperty({ description: 'Dead letters waiting for a retry or a discard' })
  open!: number;

  @ApiProperty({ description: 'Dead letters with a retry queued' })
  retrying!: number;
}

export class RouteConflictsDto {
  @ApiProperty({ description: 'Parked conflicts waiting for a decision (manual policy)' })
  open!: number;
}

/** One partition of a partitioned route: where it stands on its own. */
export class RoutePartitionStatusDto {
  @ApiProperty({ description: 'Partition index, from 0' }) index!: number;
  @ApiProperty({ description: 'Its feed: the name of its checkpoint at the target and of its jobs', example: 'orders-pg.p0of2' }) feed!: string;
  @ApiProperty({ description: 'Every change of the partition at or below this seq is durably applied' }) watermark!: number;
  @ApiProperty({ description: 'Row writes the partition applied (since it was cut)' }) appliedTotal!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastAppliedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Its last error, until it commits a batch again' }) lastError!: string | null;
}

/** One route's health: position, lag, throughput, errors and dead letters (invariant 9). */
export class RouteStatusDto {
  @ApiProperty() route!: string;
  @ApiProperty() source!: string;
  @ApiProperty() table!: string;
  @ApiProperty() target!: string;
  @ApiProperty() targetTable!: string;

  @ApiProperty({
    enum: ['running', 'lagging', 'paused', 'failing', 'stalled'],
    description:
      'running: keeping up (or nothing to apply); lagging: applying, but the oldest waiting change is more than 10 s old; paused: disabled; ' +
      'failing: retrying after an error (lastError); stalled: changes have waited more than 10 s and nothing was applied meanwhile',
  })
  state!: RouteState;

  @ApiProperty({ type: String, nullable: true, description: 'Why the route is not running (null when it is)' })
  stateReason!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The last error of the route, until a batch commits again' })
  lastError!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastErrorAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastAppliedAt!: string | null;

  @ApiProperty({ description: 'Highest seq the route has applied' })
  lastAppliedSeq!: number;

  @ApiProperty({ description: 'Every change at or below this seq is durably applied (the target checkpoint)' })
  watermark!: number;

  @ApiProperty({ description: 'Row writes applied since the route was created' })
  appliedTotal!: number;

  @ApiProperty({ type: RouteLagDto }) lag!: RouteLagDto;
  @ApiProperty({ type: RouteThroughputDto }) throughput!: RouteThroughputDto;
  @ApiProperty({ type: RouteDeadLettersDto }) deadLetters!: RouteDeadLettersDto;

  @ApiProperty({ type: SnapshotDto, nullable: true, description: 'The latest initial copy or re-sync, with its progress; null if it never had one' })
  snapshot!: SnapshotDto | null;

  @ApiProperty({ type: RouteConflictsDto }) conflicts!: RouteConflictsDto;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'When the source table was last found truncated or rebuilt (TRUNCATE fires no trigger): a repair of the route was started then ' +
      '(GET /api/routes/{id}/verify-runs); null if never',
  })
  tableRebuiltAt!: string | null;

  @ApiProperty({
    type: [RoutePartitionStatusDto],
    nullable: true,
    description: "A partitioned route's partitions (watermark above is their lowest, lastError the latest of theirs); null for one stream",
  })
  partitions!: RoutePartitionStatusDto[] | null;
}

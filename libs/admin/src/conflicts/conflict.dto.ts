import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ConflictRecord, MAX_CONFLICT_PAGE } from '@tributary/control';
import { IsOmittable } from '../http/validation';

export const CONFLICT_FILTERS = ['open', 'resolving', 'resolved', 'all'] as const;
export type ConflictFilterParam = (typeof CONFLICT_FILTERS)[number];
export const CONFLICT_DECISIONS = ['applied', 'kept', 'merged', 'written', 'deleted', 'parked', 'refused'] as const;
export const CONFLICT_KINDS = ['exists', 'mismatch', 'missing'] as const;
export const CONFLICT_STATUSES = ['open', 'resolving', 'resolved'] as const;
export const CONFLICT_ACTIONS = ['apply-source', 'keep-target', 'merge'] as const;
export type ConflictActionParam = (typeof CONFLICT_ACTIONS)[number];

export class ListConflictsQueryDto {
  @ApiPropertyOptional({ enum: CONFLICT_FILTERS, default: 'all', description: "open: parked, waiting for a person; resolving: a person's decision is queued" })
  @IsOptional()
  @IsIn(CONFLICT_FILTERS)
  status?: ConflictFilterParam;

  @ApiPropertyOptional({ enum: CONFLICT_DECISIONS, description: 'Only conflicts the policy decided this way' })
  @IsOptional()
  @IsIn(CONFLICT_DECISIONS)
  decision?: (typeof CONFLICT_DECISIONS)[number];

  @ApiPropertyOptional({ enum: CONFLICT_KINDS })
  @IsOptional()
  @IsIn(CONFLICT_KINDS)
  kind?: (typeof CONFLICT_KINDS)[number];

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_CONFLICT_PAGE, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_CONFLICT_PAGE)
  limit?: number;

  @ApiPropertyOptional({ description: 'Return conflicts with an id smaller than this (the last id of the previous page)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  beforeId?: number;
}

export class ResolveConflictDto {
  @ApiProperty({
    enum: CONFLICT_ACTIONS,
    description:
      "apply-source: write the latest parked change of the key; keep-target: leave the target row as it is (resolved at once); merge: write `row` instead",
  })
  @IsIn(CONFLICT_ACTIONS)
  action!: ConflictActionParam;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: "The row to write (target columns), for merge only; binary values as {\"$b64\": base64}",
  })
  @IsOmittable()
  @IsObject()
  row?: Record<string, unknown>;

  @ApiProperty({ description: 'Who decides (kept with the conflict)', maxLength: 255 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  actor!: string;
}

export class ConflictIncomingDto {
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: "The change's before image" })
  before!: Record<string, unknown> | null;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: "The change's after image" })
  after!: Record<string, unknown> | null;
}

/** A conflict: what the change expected, what the target held, what the policy did, and a person's decision if any (never deleted). */
export class ConflictDto {
  @ApiProperty() id!: number;
  @ApiProperty() routeId!: string;
  @ApiProperty({ description: "The change's outbox seq" }) seq!: number;
  @ApiProperty({ description: 'Source table' }) table!: string;
  @ApiProperty({ enum: ['insert', 'update', 'delete'] }) op!: string;
  @ApiProperty({ enum: CONFLICT_KINDS, description: 'exists: an insert found the row; mismatch: the row differs from the before image; missing: the row is gone' })
  kind!: string;

  @ApiProperty({ type: 'array', items: {}, description: 'Target key values, in key column order (canonical: binary as "b64:...")' })
  key!: unknown;

  @ApiProperty({ description: 'The resolution that decided' }) policy!: string;
  @ApiProperty({ enum: CONFLICT_DECISIONS }) decision!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ type: ConflictIncomingDto }) incoming!: ConflictIncomingDto;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The target row when the conflict was detected' })
  target!: Record<string, unknown> | null;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The row the decision left in the target (null: none, or parked)' })
  result!: Record<string, unknown> | null;

  @ApiProperty({ enum: CONFLICT_STATUSES }) status!: string;
  @ApiProperty({ type: String, nullable: true, description: "Who decided a parked conflict (null for the policy's own decisions)" }) resolvedBy!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'resolving: when it was asked for; resolved: when it was carried out' })
  resolvedAt!: string | null;
  @ApiProperty({ type: String, enum: CONFLICT_ACTIONS, nullable: true }) resolution!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The merged row, for merge' })
  resolutionRow!: Record<string, unknown> | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;

  static from(record: ConflictRecord): ConflictDto {
    return {
      id: record.id,
      routeId: record.routeId,
      seq: record.seq,
      table: record.table,
      op: record.op,
      kind: record.kind,
      key: parseKey(record.keyText),
      policy: record.policy,
      decision: record.decision,
      reason: record.reason,
      incoming: { before: record.incomingBefore, after: record.incomingAfter },
      target: record.targetRow,
      result: record.resultRow,
      status: record.status,
      resolvedBy: record.resolvedBy,
      resolvedAt: record.resolvedAt?.toISOString() ?? null,
      resolution: record.resolution,
      resolutionRow: record.resolutionRow,
      createdAt: record.createdAt.toISOString(),
    };
  }
}

/** Key text is canonical JSON (big integers and decimals as strings), so parsing keeps it exact. */
function parseKey(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

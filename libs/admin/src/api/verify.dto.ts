import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, Min, MaxLength } from 'class-validator';
import { VerifyRunRecord } from '@tributary/control';
import { IsOmittable } from '../http/validation';

export const MAX_RUNS_PAGE = 200;

export class StartVerifyDto {
  @ApiPropertyOptional({ description: "Who asks (kept with the run); default 'api'", maxLength: 255 })
  @IsOmittable()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  actor?: string;
}

export class ListVerifyRunsQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_RUNS_PAGE, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_RUNS_PAGE)
  limit?: number;
}

/** One verify or repair run of a route: what it counted, the first differences, or why it failed. */
export class VerifyRunDto {
  @ApiProperty() id!: number;
  @ApiProperty() route!: string;
  @ApiProperty({ enum: ['verify', 'repair'] }) kind!: string;

  @ApiProperty({
    enum: ['running', 'matched', 'differs', 'repaired', 'failed'],
    description: 'matched: the target equals the source (filtered, mapped); repaired: differences were re-sent and a second verify matched',
  })
  status!: string;

  @ApiProperty({ type: String, nullable: true }) requestedBy!: string | null;
  @ApiProperty({ description: 'Source rows that belong at the target (after the filter)' }) sourceRows!: number;
  @ApiProperty({ description: 'Rows the target table holds' }) targetRows!: number;
  @ApiProperty({ description: 'Rows the target should hold and does not' }) missing!: number;
  @ApiProperty({ description: 'Rows the target holds that the source does not have, or that the filter keeps out' }) extra!: number;
  @ApiProperty({ description: 'Rows present on both sides with different values' }) different!: number;
  @ApiProperty({ description: 'Differences a repair fixed: found by the first verify and gone at the second (sample.resent: rows it re-sent)' })
  repaired!: number;

  @ApiProperty({
    description:
      'settled (false: the route did not catch up while differences were re-checked, so some may be lag), ignoredColumns, ' +
      'differences (up to 100: kind, key, expected, actual, columns; bytes as {"$b64": …}) and, for a repair, resent (rows re-sent through the route) ' +
      'and after (what the second verify found)',
    type: 'object',
    additionalProperties: true,
    nullable: true,
  })
  sample!: unknown;

  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty() startedAt!: string;
  @ApiProperty({ type: String, nullable: true }) finishedAt!: string | null;

  static from(run: VerifyRunRecord): VerifyRunDto {
    return {
      id: run.id,
      route: run.routeId,
      kind: run.kind,
      status: run.status,
      requestedBy: run.requestedBy,
      sourceRows: run.sourceRows,
      targetRows: run.targetRows,
      missing: run.missing,
      extra: run.extra,
      different: run.different,
      repaired: run.repaired,
      sample: run.sample,
      error: run.error,
      startedAt: run.startedAt.toISOString(),
      finishedAt: run.finishedAt ? run.finishedAt.toISOString() : null,
    };
  }
}

import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { IsOmittable } from '../../http/validation';

/** At most this much history is asked for (what is kept: HISTORY_KEPT_MS). */
export const MAX_HISTORY_MINUTES = 180;

export class RouteHistoryQueryDto {
  @ApiProperty({ required: false, minimum: 1, maximum: MAX_HISTORY_MINUTES, default: 60, description: 'How far back, in minutes' })
  @IsOmittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_HISTORY_MINUTES)
  minutes?: number;
}

/** A route's status at one moment of its history (sampled every 10 s by the admin, by default). */
export class RouteHistoryPointDto {
  @ApiProperty({ type: String, format: 'date-time' }) at!: string;
  @ApiProperty({ enum: ['running', 'lagging', 'paused', 'failing', 'stalled'] }) state!: string;
  @ApiProperty({ type: Number, nullable: true, description: 'Changes waiting (null: unknown then)' }) lagChanges!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Age of the oldest waiting change, s (null: unknown then)' }) lagSeconds!: number | null;
  @ApiProperty({ description: 'Row writes applied per second since the previous point (0 for the first)' }) changesPerSecond!: number;
  @ApiProperty({ description: 'Every change at or below this seq was applied' }) watermark!: number;
}

export class RouteHistoryDto {
  @ApiProperty() route!: string;
  @ApiProperty({ type: [RouteHistoryPointDto], description: 'Oldest first' }) points!: RouteHistoryPointDto[];
}

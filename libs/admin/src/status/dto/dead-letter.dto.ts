import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsOmittable } from '../../http/validation';

export const DEAD_LETTER_FILTERS = ['open', 'retrying', 'retried', 'discarded', 'all'] as const;
export type DeadLetterFilterParam = (typeof DEAD_LETTER_FILTERS)[number];

export const MAX_PAGE = 500;

export class ListDeadLettersQueryDto {
  @ApiPropertyOptional({ enum: DEAD_LETTER_FILTERS, default: 'open' })
  @IsOptional()
  @IsIn(DEAD_LETTER_FILTERS)
  status?: DeadLetterFilterParam;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit?: number;

  @ApiPropertyOptional({ description: 'Return letters with an id greater than this (from nextAfterId)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  afterId?: number;
}

export class DiscardDeadLetterDto {
  @ApiProperty({ description: 'Who discards it (kept with the letter)', maxLength: 255 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  actor!: string;

  @ApiProperty({ description: 'Why (kept with the letter)', maxLength: 2000 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  reason!: string;
}

export class RetryDeadLettersDto {
  @ApiPropertyOptional({ description: "Who asks for the retry (kept with the letter); default 'api'", maxLength: 255 })
  @IsOmittable()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  actor?: string;
}

/** The refused change as the relay delivered it: images are the JSON text the trigger wrote. */
export class WireChangeDto {
  @ApiProperty() seq!: number;
  @ApiProperty() table!: string;
  @ApiProperty({ enum: ['insert', 'update', 'delete'] }) op!: string;
  @ApiProperty({ description: 'Key columns as JSON text' }) pk!: string;
  @ApiProperty({ type: String, nullable: true }) before!: string | null;
  @ApiProperty({ type: String, nullable: true }) after!: string | null;
  @ApiProperty({ type: String, nullable: true }) origin!: string | null;
  @ApiProperty({ description: 'Capture time, microseconds since the epoch' }) ts!: number;
  @ApiProperty({ description: 'Hash of the captured column list' }) schema!: string;
}

/** A change a target refused for good, and what became of it (never deleted). */
export class DeadLetterDto {
  @ApiProperty() id!: number;
  @ApiProperty() route!: string;
  @ApiProperty() seq!: number;
  @ApiProperty() table!: string;
  @ApiProperty({ enum: ['insert', 'update', 'delete'] }) op!: string;

  @ApiProperty({ description: "The row's key", type: 'object', additionalProperties: true })
  key!: Record<string, unknown>;

  @ApiProperty({ enum: ['open', 'retrying', 'retried', 'discarded'] })
  status!: string;

  @ApiProperty({ description: "The target's own words" }) reason!: string;
  @ApiProperty({ type: String, nullable: true, description: 'Driver error code (SQLSTATE or MySQL code)' }) code!: string | null;
  @ApiProperty({ description: 'Times the target refused it' }) attempts!: number;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) resolvedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Who asked for the retry, or who discarded it' }) resolvedBy!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'retrying: the job; retried: applied or superseded; discarded: the reason given' })
  resolutionNote!: string | null;

  @ApiPropertyOptional({ type: WireChangeDto, description: 'The change itself (single-letter reads only)' })
  change?: WireChangeDto;
}

export class DeadLetterPageDto {
  @ApiProperty({ type: [DeadLetterDto] }) items!: DeadLetterDto[];

  @ApiProperty({ type: Number, nullable: true, description: 'Pass as afterId for the next page; null at the end' })
  nextAfterId!: number | null;
}

export class RetryAcceptedDto {
  @ApiProperty({ type: [Number], description: 'Letters now retrying, in seq order' })
  letterIds!: number[];

  @ApiProperty({ type: [String], description: "Jobs queued on the source's queue, one per bounded chunk of letters" })
  jobIds!: string[];
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsInt, IsNotEmpty, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsOmittable } from '../../http/validation';
import { RouteStatusDto } from './route-status.dto';

export const MAX_WAIT_MS = 60_000;

export class WaitRequestDto {
  @ApiProperty({ description: 'The source the token is from', maxLength: 64 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  source!: string;

  @ApiProperty({
    description:
      "What the writer wrote: after its COMMIT, `SELECT MAX(seq) FROM _tributary_outbox` on the source (at least the seq of the writer's last change)",
    minimum: 0,
  })
  @IsInt()
  @Min(0)
  token!: number;

  @ApiPropertyOptional({ description: 'Wait for these routes of the source (give routes or target)', type: [String] })
  @IsOmittable()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  routes?: string[];

  @ApiPropertyOptional({ description: 'Wait for every route of the source into this target (give routes or target)', maxLength: 64 })
  @IsOmittable()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  target?: string;

  @ApiPropertyOptional({ description: 'How long to wait at most', minimum: 0, maximum: MAX_WAIT_MS, default: 10_000 })
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(MAX_WAIT_MS)
  timeoutMs?: number;
}

export class WaitedRouteDto {
  @ApiProperty() route!: string;
  @ApiProperty({ description: 'Every change of the route up to here is committed at its target' }) watermark!: number;
  @ApiProperty({ description: 'watermark >= token' }) applied!: boolean;
  @ApiPropertyOptional({ type: RouteStatusDto, description: 'Only for a route not applied in time: its status (state, lag, why)' })
  status?: RouteStatusDto;
}

export class WaitAnswerDto {
  @ApiProperty({ description: 'Every named route applied every change up to the token (HTTP 200); false: not in time (HTTP 408)' })
  applied!: boolean;
  @ApiProperty() token!: number;
  @ApiProperty() waitedMs!: number;
  @ApiProperty({ type: [WaitedRouteDto] }) routes!: WaitedRouteDto[];
}

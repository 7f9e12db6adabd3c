import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsString, MaxLength } from 'class-validator';
import { redactUrl } from '@tributary/config';
import { ConnectivityResult, redactOptions, TargetUsage } from '@tributary/setup';
import { IsOmittable } from '../http/validation';

const URL_DESCRIPTION =
  'Driver URL naming the database (postgres:// or postgresql://; mysql:// or mariadb://). Stored, used by the workers, ' +
  'never shown again with its password.';
const OPTIONS_DESCRIPTION = 'Kind-specific settings; for postgres and mysql: poolMax, acquireTimeoutMs, connectTimeoutMs (positive integers); for postgres, mysql and sqlite: transactional (true: all changes of one source transaction routed here become visible in one target transaction, across tables; its routes then have no partitions and no conflict policy).';

export class CreateTargetDto {
  @ApiProperty({ description: 'Name of the target: a lowercase letter, then a-z, 0-9, _ or -; at most 63', example: 'warehouse' })
  @IsString()
  @MaxLength(63)
  id!: string;

  @ApiProperty({ description: 'A registered target kind', example: 'postgres' })
  @IsString()
  @MaxLength(32)
  kind!: string;

  @ApiProperty({ description: URL_DESCRIPTION, example: 'postgres://tributary:secret@warehouse.internal:5432/analytics' })
  @IsString()
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: OPTIONS_DESCRIPTION, example: { poolMax: 4 } })
  @IsOmittable()
  @IsObject()
  options?: Record<string, unknown>;
}

/** PATCH: what is given replaces what was stored; the kind stays. */
export class UpdateTargetDto {
  @ApiPropertyOptional({ description: URL_DESCRIPTION })
  @IsOmittable()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: `Replaces all options. ${OPTIONS_DESCRIPTION}` })
  @IsOmittable()
  @IsObject()
  options?: Record<string, unknown>;
}

/** A target as the API shows it: no credentials. */
export class TargetDto {
  @ApiProperty({ example: 'warehouse' })
  id!: string;

  @ApiProperty({ example: 'postgres' })
  kind!: string;

  @ApiProperty({ description: 'The URL with its password (and secret-looking parameters) replaced by ***' })
  url!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Options, secret-looking values replaced by ***' })
  options!: Record<string, unknown>;

  @ApiProperty({ type: [String], description: 'Routes that write to this target' })
  routes!: string[];

  static from({ target, routes }: TargetUsage): TargetDto {
    return { id: target.id, kind: target.kind, url: redactUrl(target.url), options: redactOptions(target.options), routes };
  }
}

/** The answer of a connectivity test: a failure is a result (200), not an error of the call. */
export class TargetTestDto {
  @ApiProperty()
  ok!: boolean;

  @ApiPropertyOptional({ description: 'Round trip of a trivial query, when ok' })
  latencyMs?: number;

  @ApiPropertyOptional({ description: "The driver's reason, when not ok (no credentials)" })
  error?: string;

  static from(result: ConnectivityResult): TargetTestDto {
    return result.ok ? { ok: true, latencyMs: result.latencyMs } : { ok: false, error: result.error };
  }
}

import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { redactUrl } from '@tributary/config';
import { SourceUsage } from '@tributary/setup';

export class CreateSourceDto {
  @ApiProperty({ description: 'Name of the source: a lowercase letter, then a-z, 0-9, _ or -; at most 63', example: 'shop' })
  @IsString()
  @MaxLength(63)
  id!: string;

  @ApiProperty({
    description:
      'mysql:// or mariadb:// URL naming the database to capture from. It must be reachable: creating the source creates ' +
      'its outbox there. The password is stored and never shown again.',
    example: 'mysql://tributary:secret@db.internal:3306/shop',
  })
  @IsString()
  @MaxLength(2048)
  url!: string;
}

/** A source as the API shows it: the URL without its password. */
export class SourceDto {
  @ApiProperty({ example: 'shop' })
  id!: string;

  @ApiProperty({ description: 'The URL with the password replaced by ***', example: 'mysql://tributary:***@db.internal:3306/shop' })
  url!: string;

  @ApiProperty({ type: [String], description: 'Captured tables', example: ['orders'] })
  tables!: string[];

  @ApiProperty({ type: [String], description: 'Routes that read from this source', example: ['orders-pg'] })
  routes!: string[];

  static from({ source, tables, routes }: SourceUsage): SourceDto {
    return { id: source.id, url: redactUrl(source.url), tables, routes };
  }
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsBoolean, IsIn, IsString, MaxLength } from 'class-validator';
import { RouteRecord } from '@tributary/control';
import { InitialCopy } from '@tributary/setup';
import { IsOmittable } from '../http/validation';

const DROPPED_COLUMNS_DOC =
  'What the target does with a column the source drops (through POST …/tables/{table}/alter or …/adopt): ' +
  'keep (the column stays, rows written from then on leave it NULL) or drop (the target drops it at the place in the stream where the source did)';
const FILTER_DOC =
  'Row filter over the source columns (null: every row). SQL-like: and/or/not, = != <> < <= > >=, in (...), not in, ' +
  "is [not] null, like with % and _, parentheses, 'strings', numbers, true/false/null; at most 2000 characters. " +
  'The target holds the source rows that match now: an update that makes a row match inserts it, one that makes it stop matching deletes it.';
const FILTER_EXAMPLE = "region in ('EU', 'UK') and amount >= 100";
const MAPPING_DOC =
  'Column mapping (null: columns as at the source): include or exclude (lists of source columns; key columns stay), ' +
  'rename (source name → target name), computed ([{name, value, key?}] with value source, table, change_ts, seq, op or {"constant": v}; ' +
  'key: true adds a source, table or constant column to the target key, e.g. to consolidate several sources into one table).';
const MAPPING_EXAMPLE = { exclude: ['internal_note'], rename: { amount: 'total' }, computed: [{ name: 'synced_at', value: 'change_ts' }] };

const CONFLICT_DOC =
  'Conflict detection and resolution (null: none, the newest change of a row wins). resolution: source-wins, target-wins, ' +
  'newer-wins (by `column`; ties go to the greater of source and target name; `merge: true` merges column by column), manual ' +
  '(park for a person: /api/routes/{id}/conflicts) or custom (`resolver`: a module in the worker\'s CONFLICT_RESOLVERS_DIR). ' +
  'detect: all (the before image must equal the target row, default), changed (only the changed columns) or version (only `column`). ' +
  'Needs a postgres, mysql or sqlite target. See docs/conflicts-and-two-way.md.';
const CONFLICT_EXAMPLE = { resolution: 'newer-wins', detect: 'all', column: 'updated_at' };

const PARTITIONS_DOC =
  'Partitions by a hash of the row key (1-64, default 1): each partition is applied in seq order by one worker at a time, and ' +
  'the partitions side by side, on several workers. Every row keeps its order (a key change that moves a row between partitions ' +
  'included); changes of different rows may be applied out of their source order. Not with a conflict policy. See docs/architecture.md.';

const LOCAL_ONLY_DOC =
  "Pass on only the application's own writes, nothing Tributary applied at the source (default false). For all-to-all " +
  'replication among three or more databases: each sends its own changes to every other, so nothing goes around twice. ' +
  'See docs/conflicts-and-two-way.md.';

export class CreateRouteDto {
  @ApiProperty({ description: 'Name of the route: a lowercase letter, then a-z, 0-9, _ or -; at most 63', example: 'orders-pg' })
  @IsString()
  @MaxLength(63)
  id!: string;

  @ApiProperty({ description: 'The source to read from', example: 'shop' })
  @IsString()
  @MaxLength(63)
  sourceId!: string;

  @ApiProperty({ description: 'A captured table of the source', example: 'orders' })
  @IsString()
  @MaxLength(64)
  table!: string;

  @ApiProperty({ description: 'The target to write to', example: 'warehouse' })
  @IsString()
  @MaxLength(63)
  targetId!: string;

  @ApiPropertyOptional({
    description:
      "Table at the target (default: the source table's name); created if missing. If it exists, its primary key must be " +
      "the route's key (the source table's, plus computed key columns). Several sources may write one target table when every route " +
      'into it has the same computed key column of value source (fan-in: their rows never share a key).',
    example: 'orders',
  })
  @IsOmittable()
  @IsString()
  @MaxLength(64)
  targetTable?: string;

  @ApiPropertyOptional({ description: 'Start paused with false (default true)', default: true })
  @IsOmittable()
  @IsBoolean()
  enabled?: boolean;

  // Filter and mapping are accepted as any JSON here and checked by the setup layer against the captured
  // schema, so a mistake is answered with where and why (e.g. an unknown column at a position).
  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 2000, description: FILTER_DOC, example: FILTER_EXAMPLE })
  @Allow()
  filter?: unknown;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: MAPPING_DOC, example: MAPPING_EXAMPLE })
  @Allow()
  mapping?: unknown;

  // Accepted as any JSON and checked by the setup layer against the captured schema, like filter and mapping.
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: CONFLICT_DOC, example: CONFLICT_EXAMPLE })
  @Allow()
  conflictPolicy?: unknown;

  @ApiPropertyOptional({
    description:
      'Copy the rows the table already has (an initial copy, online: writers are never blocked for more than a moment), then keep ' +
      'following changes. Default true; false replicates changes from now on only.',
    default: true,
  })
  @IsOmittable()
  @IsBoolean()
  initialCopy?: boolean;
  @ApiPropertyOptional({
    description:
      'Needed to write a target table that another route writes too (another table of the same source, or another source without ' +
      'a computed source key column): rows with the same key are then one row. Give it when their keys never collide or merging by ' +
      'key is intended; rows of several sources then keep a version per source at the target (postgres, mysql, sqlite), usually ' +
      'with a newer-wins conflict policy.',
    default: false,
  })
  @IsOmittable()
  @IsBoolean()
  shareTargetTable?: boolean;

  // Checked by the setup layer, which names the field and why (e.g. a conflict policy beside it).
  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: 64, default: 1, description: PARTITIONS_DOC })
  @Allow()
  partitions?: unknown;

  @ApiPropertyOptional({ description: LOCAL_ONLY_DOC, default: false })
  @IsOmittable()
  @IsBoolean()
  localOnly?: boolean;

  @ApiPropertyOptional({ enum: ['keep', 'drop'], default: 'keep', description: DROPPED_COLUMNS_DOC })
  @IsOmittable()
  @IsIn(['keep', 'drop'])
  droppedColumns?: 'keep' | 'drop';
}

/** PATCH: what is given changes; what is left out stays. */
export class UpdateRouteDto {
  @ApiPropertyOptional({ description: 'false pauses the route (its changes wait in its queue), true resumes it' })
  @IsOmittable()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ description: 'Write to another table of the target from now on (same checks as on create)' })
  @IsOmittable()
  @IsString()
  @MaxLength(64)
  targetTable?: string;

  @ApiPropertyOptional({
    description:
      'With targetTable: needed to write a target table that a route of another table of the same source writes too: rows with the same key then ' +
      'overwrite each other. Give it when their keys never collide (e.g. one table per shard) or merging by key is intended.',
    default: false,
  })
  @IsOmittable()
  @IsBoolean()
  shareTargetTable?: boolean;

  @ApiPropertyOptional({ type: String, nullable: true, description: FILTER_DOC + ' null removes the filter. Applies to changes from now on.' })
  @Allow()
  filter?: unknown;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: MAPPING_DOC + ' null removes the mapping.' })
  @Allow()
  mapping?: unknown;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: CONFLICT_DOC + ' null removes it. Applies from the next batch.' })
  @Allow()
  conflictPolicy?: unknown;

  @ApiPropertyOptional({
    type: Number,
    minimum: 1,
    maximum: 64,
    description: PARTITIONS_DOC + ' A new number applies at once: each new partition starts where the old ones had all got to (what they applied twice is skipped).',
  })
  @Allow()
  partitions?: unknown;

  @ApiPropertyOptional({ description: LOCAL_ONLY_DOC })
  @IsOmittable()
  @IsBoolean()
  localOnly?: boolean;

  @ApiPropertyOptional({ enum: ['keep', 'drop'], description: DROPPED_COLUMNS_DOC })
  @IsOmittable()
  @IsIn(['keep', 'drop'])
  droppedColumns?: 'keep' | 'drop';
}

export class RouteDto {
  @ApiProperty({ example: 'orders-pg' })
  id!: string;

  @ApiProperty({ example: 'shop' })
  sourceId!: string;

  @ApiProperty({ example: 'orders' })
  table!: string;

  @ApiProperty({ example: 'warehouse' })
  targetId!: string;

  @ApiProperty({ example: 'orders' })
  targetTable!: string;

  @ApiProperty({ description: 'false: paused' })
  enabled!: boolean;

  @ApiProperty({ type: String, nullable: true, description: 'Row filter; null: every row' })
  filter!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'Column mapping; null: columns as at the source' })
  mapping!: Record<string, unknown> | null;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'Conflict policy; null: no detection, the newest change of a row wins' })
  conflictPolicy!: Record<string, unknown> | null;

  @ApiProperty({ description: 'Partitions by key hash, applied side by side (1: one ordered stream)', example: 1 })
  partitions!: number;

  @ApiProperty({ description: "Passes on only the application's own writes" })
  localOnly!: boolean;

  @ApiProperty({ enum: ['keep', 'drop'], description: DROPPED_COLUMNS_DOC })
  droppedColumns!: 'keep' | 'drop';

  static from(route: RouteRecord): RouteDto {
    return {
      id: route.id,
      sourceId: route.sourceId,
      table: route.table,
      targetId: route.targetId,
      targetTable: route.targetTable,
      enabled: route.enabled,
      filter: route.filter ?? null,
      mapping: route.mapping ?? null,
      conflictPolicy: route.conflictPolicy ?? null,
      partitions: route.partitions ?? 1,
      localOnly: route.localOnly ?? false,
      droppedColumns: route.droppedColumns ?? 'keep',
    };
  }
}

/** What happens to the rows the source table already has when a route starts. */
export class InitialCopyDto {
  @ApiProperty({ description: 'Whether an initial copy of the existing rows was requested (follow it at GET /api/routes/{id}/snapshot)', example: true })
  requested!: boolean;

  @ApiProperty({ type: Number, nullable: true, description: 'Rows the source table has (estimated for large tables); null if unknown' })
  sourceRows!: number | null;

  @ApiProperty({ example: 'orders has 120 rows; an initial copy was requested: the target gets every existing row while changes keep flowing.' })
  message!: string;

  static from(copy: InitialCopy): InitialCopyDto {
    return { requested: copy.requested, sourceRows: copy.sourceRows, message: copy.message };
  }
}

export class ResyncRequestDto {
  @ApiPropertyOptional({ description: 'Who asks (kept with the re-sync)', example: 'ops@example.com' })
  @IsOmittable()
  @IsString()
  @MaxLength(255)
  actor?: string;
}

export class CreatedRouteDto extends RouteDto {
  @ApiProperty({ type: InitialCopyDto })
  initialCopy!: InitialCopyDto;
}

/** After a filter or mapping change: what happens to the rows already at the target. */
export class ResyncDto {
  @ApiProperty({ description: 'Whether the route can be re-synced so the rows already at the target follow the new rules', example: true })
  available!: boolean;

  @ApiProperty({
    example: 'The new filter applies to changes from now on. Rows already at the target follow it after a re-sync: POST /api/routes/{id}/resync.',
  })
  message!: string;
}

export class UpdatedRouteDto extends RouteDto {
  @ApiProperty({ type: InitialCopyDto, nullable: true, description: 'When targetTable changed: the new table gets changes from now on' })
  initialCopy!: InitialCopyDto | null;

  @ApiProperty({ type: ResyncDto, nullable: true, description: 'When filter or mapping changed: rows already at the target follow after a re-sync' })
  resync!: ResyncDto | null;
}

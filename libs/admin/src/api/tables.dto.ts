import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { ColumnSpec, TableSchema } from '@tributary/model';
import { CapturedTableStatus, CaptureResult, RouteSchemaPlan, SchemaChangeOutcome, SchemaChangePlan } from '@tributary/setup';
import { IsOmittable } from '../http/validation';

/** A captured table and whether its triggers still match the table's current columns. */
export class CapturedTableDto {
  @ApiProperty({ example: 'orders' })
  table!: string;

  @ApiProperty({ description: 'Schema hash recorded when capture was last installed', example: '3f2a9c0d1e' })
  schemaHash!: string;

  @ApiProperty({ type: Boolean, nullable: true, description: 'Our triggers are on the table (null: could not be inspected, see error)' })
  installed!: boolean | null;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    description:
      'The installed triggers are not what the table needs now (it was altered after capture): added columns are not ' +
      'captured, and a dropped column makes every write fail. Fix with the refresh action.',
  })
  drifted!: boolean | null;

  @ApiProperty({ type: String, nullable: true, description: 'Schema hash the installed triggers write' })
  installedHash!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Schema hash of the table as it is now' })
  currentHash!: string | null;

  @ApiProperty({ type: [String], description: 'Our triggers on the table' })
  triggers!: string[];

  @ApiProperty({ type: [String], description: 'Changes capture cannot see, e.g. foreign keys with ON DELETE CASCADE onto this table' })
  warnings!: string[];

  @ApiProperty({ type: String, nullable: true, description: 'Why the table could not be inspected (source unreachable, table dropped)' })
  error!: string | null;

  @ApiProperty({ type: [String], description: 'Routes that replicate this table' })
  routes!: string[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'When the triggers are drifted or missing: the call that regenerates them without losing a write',
    example: 'POST /api/sources/shop/tables/orders/refresh',
  })
  refresh!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description:
      "When the table's columns changed behind Tributary (its shape is not the one recorded): the call that adopts the change and carries it to " +
      'every route (dry run first: name the renamed columns, or their values are lost at the targets)',
    example: 'POST /api/sources/shop/tables/orders/adopt {"dryRun":true,"renames":{"old":"new"}}',
  })
  adopt!: string | null;

  static from(sourceId: string, captured: CapturedTableStatus): CapturedTableDto {
    const { status } = captured;
    const needsRefresh = status !== null && (status.drifted || !status.installed);
    const changedShape = status !== null && status.currentHash !== captured.schemaHash;
    return {
      table: captured.table,
      schemaHash: captured.schemaHash,
      installed: status?.installed ?? null,
      drifted: status?.drifted ?? null,
      installedHash: status?.installedHash ?? null,
      currentHash: status?.currentHash ?? null,
      triggers: status?.triggers ?? [],
      warnings: captured.warnings,
      error: captured.error,
      routes: captured.routes,
      refresh: needsRefresh ? `POST /api/sources/${sourceId}/tables/${captured.table}/refresh` : null,
      adopt: changedShape ? `POST /api/sources/${sourceId}/tables/${captured.table}/adopt {"dryRun":true}` : null,
    };
  }
}

export class ColumnDto {
  @ApiProperty({ example: 'amount' })
  name!: string;

  @ApiProperty({ description: 'How Tributary carries the value', example: 'decimal' })
  type!: string;

  @ApiProperty({ description: 'The column type at the source', example: 'decimal(10,2)' })
  columnType!: string;

  @ApiProperty()
  nullable!: boolean;

  static from(column: ColumnSpec): ColumnDto {
    return { name: column.name, type: column.type, columnType: column.columnType, nullable: column.nullable };
  }
}

/** The shape capture now carries, after enabling, refreshing or altering a table. */
export class CapturedSchemaDto {
  @ApiProperty({ example: 'orders' })
  table!: string;

  @ApiProperty({ description: 'Hash of the captured column list; changes carry it', example: '3f2a9c0d1e' })
  schemaHash!: string;

  @ApiProperty({ type: [String], description: 'Columns that identify a row', example: ['id'] })
  key!: string[];

  @ApiProperty({ enum: ['primary', 'unique'], description: 'The primary key, or a NOT NULL unique key' })
  keyKind!: string;

  @ApiProperty({ type: [ColumnDto] })
  columns!: ColumnDto[];

  @ApiProperty({ type: [String], description: 'Changes capture cannot see, e.g. foreign keys with ON DELETE CASCADE onto this table' })
  warnings!: string[];

  static from(schema: TableSchema, warnings: string[]): CapturedSchemaDto {
    return {
      table: schema.table,
      schemaHash: schema.hash,
      key: schema.key,
      keyKind: schema.keyKind,
      columns: schema.columns.map(ColumnDto.from),
      warnings,
    };
  }
}

export class CaptureResultDto extends CapturedSchemaDto {
  @ApiProperty({ description: 'False when capture was already installed and its triggers were regenerated' })
  created!: boolean;

  static fromResult(result: CaptureResult): CaptureResultDto {
    return { ...CapturedSchemaDto.from(result.schema, result.warnings), created: result.created };
  }
}

/** What every schema change request may add: a dry run, re-syncs, who asks. */
class SchemaChangeRequestDto {
  @ApiPropertyOptional({ description: 'Only answer with the plan: nothing changes (an ALTER is tried on an empty copy of the table)' })
  @IsOmittable()
  @IsBoolean()
  dryRun?: boolean;

  @ApiPropertyOptional({ description: 'Once the change is made, re-sync every route whose target cannot follow it exactly (the plan says which)' })
  @IsOmittable()
  @IsBoolean()
  resync?: boolean;

  @ApiPropertyOptional({ description: 'Who asks (kept with the change and its re-syncs)', example: 'ops@example.com' })
  @IsOmittable()
  @IsString()
  @MaxLength(255)
  actor?: string;
}

export class AlterTableDto extends SchemaChangeRequestDto {
  @ApiProperty({
    description:
      'What follows ALTER TABLE <table>: one clause list, no comments, no ";", no table rename. The ALTER and the ' +
      'regenerated triggers are one step for the application (under LOCK TABLES), so no write is lost.',
    example: 'ADD COLUMN note VARCHAR(200) NULL',
  })
  @IsString()
  alter!: string;
}

export class AdoptTableDto extends SchemaChangeRequestDto {
  @ApiPropertyOptional({
    description:
      'Columns that were renamed (old name → new name). The table as it is cannot tell a renamed column from one dropped and one added; ' +
      'named here, its values are kept at the targets',
    example: { status: 'state' },
  })
  @IsOmittable()
  @IsObject()
  renames?: Record<string, string>;
}

export class ColumnChangeDto {
  @ApiProperty({ enum: ['added', 'dropped', 'renamed', 'widened', 'retyped', 'nullability', 'default', 'key'] })
  kind!: string;

  @ApiProperty({ description: 'The column (its new name; the old one for a dropped column)', example: 'state' })
  column!: string;

  @ApiProperty({ example: 'renamed from status' })
  detail!: string;

  @ApiProperty({ description: 'False when the ALTER changed rows no trigger saw (a retype, an added column with a default): targets match again after a re-sync' })
  exact!: boolean;
}

export class RouteSchemaPlanDto {
  @ApiProperty({ example: 'orders-to-pg' })
  route!: string;

  @ApiProperty({ example: 'warehouse' })
  target!: string;

  @ApiProperty({ example: 'postgres' })
  targetKind!: string;

  @ApiProperty({ example: 'orders' })
  targetTable!: string;

  @ApiProperty({ type: [String], description: 'What happens at the target table', example: ['rename column status to state (its values kept)'] })
  actions!: string[];

  @ApiProperty({ type: [String], description: "How the route's filter, mapping or conflict policy is rewritten into the new names" })
  routeChanges!: string[];

  @ApiProperty({ type: [String], description: 'Why the target cannot match the source again without a re-sync (empty: it follows exactly)' })
  resyncReasons!: string[];

  @ApiProperty({ type: String, nullable: true, description: 'Why the route will stop, its changes kept, until a person changes it' })
  waits!: string | null;

  @ApiProperty({ enum: ['requested', 'needed', 'none'], description: 'requested: a re-sync was started; needed: one is needed and was not asked for' })
  resync!: string;

  static from(route: RouteSchemaPlan): RouteSchemaPlanDto {
    const { route: id, target, targetKind, targetTable, actions, routeChanges, resyncReasons, waits, resync } = route;
    return { route: id, target, targetKind, targetTable, actions, routeChanges, resyncReasons, waits, resync };
  }
}

export class TableRenameDto {
  @ApiProperty({ example: 'orders' })
  from!: string;

  @ApiProperty({ example: 'purchases' })
  to!: string;
}

export class SchemaChangePlanDto {
  @ApiProperty({ description: 'The schema the targets are at', example: '3f2a9c0d1e' })
  fromHash!: string;

  @ApiProperty({ description: 'The schema after the change', example: '8b0e44c1a2' })
  toHash!: string;

  @ApiProperty({ type: [ColumnChangeDto] })
  changes!: ColumnChangeDto[];

  @ApiProperty({ type: [RouteSchemaPlanDto] })
  routes!: RouteSchemaPlanDto[];

  @ApiPropertyOptional({ type: TableRenameDto, description: 'The table renamed (ALTER "RENAME TO <name>"): its routes read it under the new name, without a copy' })
  tableRename?: TableRenameDto;

  static from(plan: SchemaChangePlan): SchemaChangePlanDto {
    return {
      fromHash: plan.fromHash,
      toHash: plan.toHash,
      changes: plan.changes.map(({ kind, column, detail, exact }) => ({ kind, column, detail, exact })),
      routes: plan.routes.map(RouteSchemaPlanDto.from),
      ...(plan.tableRename ? { tableRename: { from: plan.tableRename.from, to: plan.tableRename.to } } : {}),
    };
  }
}

/** A schema change, made or (dry run) planned: the table's new schema and what each route does. */
export class SchemaChangeResultDto extends CapturedSchemaDto {
  @ApiProperty({ description: 'False for a dry run: nothing was changed' })
  applied!: boolean;

  @ApiProperty({ type: SchemaChangePlanDto })
  plan!: SchemaChangePlanDto;

  static fromOutcome(outcome: SchemaChangeOutcome): SchemaChangeResultDto {
    return { ...CapturedSchemaDto.from(outcome.schema, outcome.warnings), applied: outcome.applied, plan: SchemaChangePlanDto.from(outcome.plan) };
  }
}

export class DisableCaptureQueryDto {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: 'true: remove the table from the configuration even if the source does not answer (its triggers may then stay behind)',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  force?: 'true' | 'false';
}

/** Answer of a forced disable that could not reach the source (a normal disable answers 204 without a body). */
export class CaptureRemovedDto {
  @ApiProperty({ example: false })
  triggersRemoved!: boolean;

  @ApiProperty({ type: String, nullable: true })
  message!: string | null;
}

import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res, UseInterceptors } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBadGatewayResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Response } from 'express';
import { ConfigChangeInterceptor } from './config-change.interceptor';
import { SetupErrorsInterceptor } from './setup-errors.interceptor';
import { AdoptTableDto, AlterTableDto, CapturedTableDto, CaptureRemovedDto, CaptureResultDto, DisableCaptureQueryDto, SchemaChangeResultDto } from './tables.dto';
import { TablesService } from './tables.service';

@ApiTags('tables')
@ApiBearerAuth()
@UseInterceptors(SetupErrorsInterceptor, ConfigChangeInterceptor)
@ApiNotFoundResponse({ description: 'No such source, or the table is not captured (or does not exist, when enabling)' })
@ApiBadGatewayResponse({ description: 'The source database does not answer' })
@Controller('api/sources/:sourceId/tables')
export class TablesController {
  constructor(private readonly tables: TablesService) {}

  @Get()
  @ApiOperation({ summary: 'Captured tables of a source, each with drift status' })
  @ApiOkResponse({ type: [CapturedTableDto] })
  list(@Param('sourceId') sourceId: string): Promise<CapturedTableDto[]> {
    return this.tables.list(sourceId);
  }

  @Get(':table')
  @ApiOperation({ summary: 'One captured table: do the installed triggers still match its columns?' })
  @ApiOkResponse({ type: CapturedTableDto })
  get(@Param('sourceId') sourceId: string, @Param('table') table: string): Promise<CapturedTableDto> {
    return this.tables.get(sourceId, table);
  }

  @Put(':table')
  @ApiOperation({ summary: 'Enable capture (installs the triggers; on a captured table, regenerates them)' })
  @ApiCreatedResponse({ type: CaptureResultDto, description: 'Capture installed' })
  @ApiOkResponse({ type: CaptureResultDto, description: 'Already captured: triggers regenerated' })
  @ApiBadRequestResponse({ description: 'Invalid table name, or a table capture cannot carry (no usable key, a view, ...)' })
  async enable(
    @Param('sourceId') sourceId: string,
    @Param('table') table: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CaptureResultDto> {
    const result = await this.tables.enable(sourceId, table);
    res.status(result.created ? 201 : 200);
    return result;
  }

  @Post(':table/refresh')
  @HttpCode(200)
  @ApiOperation({ summary: 'Regenerate the triggers from the current columns (the fix for drift; atomic for writers)' })
  @ApiOkResponse({ type: CaptureResultDto })
  refresh(@Param('sourceId') sourceId: string, @Param('table') table: string): Promise<CaptureResultDto> {
    return this.tables.refresh(sourceId, table);
  }

  @Post(':table/alter')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Change the table and its triggers in one step for writers (the safe schema-change path), and carry the change to every route: ' +
      'renames, drops (per route: droppedColumns), widening. The answer is the plan; with dryRun it is only the plan',
  })
  @ApiOkResponse({ type: SchemaChangeResultDto })
  @ApiBadRequestResponse({ description: 'The specification is refused, or the ALTER failed (the message says whether it was applied)' })
  alter(@Param('sourceId') sourceId: string, @Param('table') table: string, @Body() body: AlterTableDto): Promise<SchemaChangeResultDto> {
    return this.tables.alter(sourceId, table, body);
  }

  @Post(':table/adopt')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Adopt a change made to the table behind Tributary (drift): regenerate capture and carry the change to every route as alter does. ' +
      'Say which columns were renamed; with dryRun only the plan',
  })
  @ApiOkResponse({ type: SchemaChangeResultDto })
  @ApiBadRequestResponse({ description: 'A rename does not fit the table, or capture cannot carry the table as it is' })
  adopt(@Param('sourceId') sourceId: string, @Param('table') table: string, @Body() body: AdoptTableDto): Promise<SchemaChangeResultDto> {
    return this.tables.adopt(sourceId, table, body);
  }

  @Delete(':table')
  @ApiOperation({ summary: 'Disable capture (removes the triggers)' })
  @ApiNoContentResponse({ description: 'Capture removed' })
  @ApiOkResponse({ type: CaptureRemovedDto, description: 'force=true and the source did not answer: removed from the configuration only' })
  @ApiConflictResponse({ description: 'Routes replicate this table' })
  async disable(
    @Param('sourceId') sourceId: string,
    @Param('table') table: string,
    @Query() query: DisableCaptureQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CaptureRemovedDto | undefined> {
    const leftBehind = await this.tables.disable(sourceId, table, query.force === 'true');
    res.status(leftBehind ? 200 : 204);
    return leftBehind ?? undefined;
  }
}

import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseInterceptors } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ConfigChangeInterceptor } from './config-change.interceptor';
import { SetupErrorsInterceptor } from './setup-errors.interceptor';
import { CreateSourceDto, SourceDto } from './sources.dto';
import { SourcesService } from './sources.service';

@ApiTags('sources')
@ApiBearerAuth()
@UseInterceptors(SetupErrorsInterceptor, ConfigChangeInterceptor)
@Controller('api/sources')
export class SourcesController {
  constructor(private readonly sources: SourcesService) {}

  @Post()
  @ApiOperation({ summary: 'Add a source database (connects to it and creates its outbox)' })
  @ApiCreatedResponse({ type: SourceDto })
  @ApiBadRequestResponse({ description: 'Invalid id or URL (scheme, database name, options)' })
  @ApiConflictResponse({ description: 'The id is taken, or another source reads the same database' })
  @ApiUnprocessableEntityResponse({ description: "The database cannot be reached or prepared (the driver's reason, no password)" })
  create(@Body() body: CreateSourceDto): Promise<SourceDto> {
    return this.sources.create(body.id, body.url);
  }

  @Get()
  @ApiOperation({ summary: 'List sources' })
  @ApiOkResponse({ type: [SourceDto] })
  list(): Promise<SourceDto[]> {
    return this.sources.list();
  }

  @Get(':sourceId')
  @ApiOperation({ summary: 'Show a source' })
  @ApiOkResponse({ type: SourceDto })
  @ApiNotFoundResponse({ description: 'No such source' })
  get(@Param('sourceId') sourceId: string): Promise<SourceDto> {
    return this.sources.get(sourceId);
  }

  @Delete(':sourceId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a source (its outbox stays in the database)' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ description: 'No such source' })
  @ApiConflictResponse({ description: 'Tables are still captured, or routes read from it' })
  delete(@Param('sourceId') sourceId: string): Promise<void> {
    return this.sources.delete(sourceId);
  }
}

import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseInterceptors } from '@nestjs/common';
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
} from '@nestjs/swagger';
import { ConfigChangeInterceptor } from './config-change.interceptor';
import { SetupErrorsInterceptor } from './setup-errors.interceptor';
import { CreateTargetDto, TargetDto, TargetTestDto, UpdateTargetDto } from './targets.dto';
import { TargetsService } from './targets.service';

@ApiTags('targets')
@ApiBearerAuth()
@UseInterceptors(SetupErrorsInterceptor, ConfigChangeInterceptor)
@Controller('api/targets')
export class TargetsController {
  constructor(private readonly targets: TargetsService) {}

  @Post()
  @ApiOperation({ summary: 'Add a target (not connected to until a route uses it or it is tested)' })
  @ApiCreatedResponse({ type: TargetDto })
  @ApiBadRequestResponse({ description: 'Invalid id, unknown kind (the known ones are listed), URL or options the kind refuses' })
  @ApiConflictResponse({ description: 'The id is taken' })
  create(@Body() body: CreateTargetDto): Promise<TargetDto> {
    return this.targets.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List targets' })
  @ApiOkResponse({ type: [TargetDto] })
  list(): Promise<TargetDto[]> {
    return this.targets.list();
  }

  @Get(':targetId')
  @ApiOperation({ summary: 'Show a target' })
  @ApiOkResponse({ type: TargetDto })
  @ApiNotFoundResponse({ description: 'No such target' })
  get(@Param('targetId') targetId: string): Promise<TargetDto> {
    return this.targets.get(targetId);
  }

  @Patch(':targetId')
  @ApiOperation({ summary: 'Replace the URL and/or the options given; running workers switch at once' })
  @ApiOkResponse({ type: TargetDto })
  @ApiNotFoundResponse({ description: 'No such target' })
  @ApiBadRequestResponse({ description: 'URL or options the kind refuses' })
  update(@Param('targetId') targetId: string, @Body() body: UpdateTargetDto): Promise<TargetDto> {
    return this.targets.update(targetId, body);
  }

  @Delete(':targetId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a target' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ description: 'No such target' })
  @ApiConflictResponse({ description: 'Routes write to it' })
  delete(@Param('targetId') targetId: string): Promise<void> {
    return this.targets.delete(targetId);
  }

  @Post(':targetId/test')
  @HttpCode(200)
  @ApiOperation({ summary: 'Test connectivity: 200 with ok true and the latency, or ok false and the reason' })
  @ApiOkResponse({ type: TargetTestDto })
  @ApiNotFoundResponse({ description: 'No such target' })
  test(@Param('targetId') targetId: string): Promise<TargetTestDto> {
    return this.targets.test(targetId);
  }
}

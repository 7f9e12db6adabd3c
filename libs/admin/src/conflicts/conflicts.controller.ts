import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseIntPipe, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Response } from 'express';
import { ConflictDto, ListConflictsQueryDto, ResolveConflictDto } from './conflict.dto';
import { ConflictsService } from './conflicts.service';

@ApiTags('conflicts')
@ApiBearerAuth()
@Controller('api')
export class ConflictsController {
  constructor(private readonly conflicts: ConflictsService) {}

  @Get('routes/:routeId/conflicts')
  @ApiOperation({ summary: "The route's conflict log, newest first (default: every status)" })
  @ApiOkResponse({ type: [ConflictDto] })
  @ApiBadRequestResponse({ description: 'Bad status, decision, kind, limit or beforeId' })
  @ApiNotFoundResponse({ description: 'No such route' })
  list(@Param('routeId') routeId: string, @Query() query: ListConflictsQueryDto): Promise<ConflictDto[]> {
    return this.conflicts.list(routeId, query);
  }

  @Get('conflicts/:id')
  @ApiOperation({ summary: 'One conflict: the incoming change, the target row, what was decided' })
  @ApiOkResponse({ type: ConflictDto })
  @ApiNotFoundResponse({ description: 'No such conflict' })
  get(@Param('id', ParseIntPipe) id: number): Promise<ConflictDto> {
    return this.conflicts.get(id);
  }

  @Post('conflicts/:id/resolve')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Decide a parked conflict, with every other open conflict of the same key',
    description:
      'keep-target resolves them at once (200). apply-source and merge mark them resolving and queue one job on the route ' +
      '(after what is already queued) that writes the latest parked change of the key, or `row` for merge (202).',
  })
  @ApiOkResponse({ type: [ConflictDto], description: 'keep-target: the conflicts resolved' })
  @ApiAcceptedResponse({ type: [ConflictDto], description: 'apply-source, merge: the conflicts now resolving' })
  @ApiBadRequestResponse({ description: 'actor or action missing; row missing for merge, or given with another action' })
  @ApiNotFoundResponse({ description: 'No such conflict' })
  @ApiConflictResponse({ description: 'The conflict is not open (decided by the policy, already resolved, or a decision is in flight)' })
  async resolve(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: ResolveConflictDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ConflictDto[]> {
    const outcome = await this.conflicts.resolve(id, body);
    if (!outcome.queued) res.status(HttpStatus.OK);
    return outcome.conflicts;
  }
}

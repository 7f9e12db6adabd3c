import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ListVerifyRunsQueryDto, StartVerifyDto, VerifyRunDto } from './verify.dto';
import { VerifyService } from './verify.service';

@ApiTags('verify')
@ApiBearerAuth()
@Controller('api')
export class VerifyController {
  constructor(private readonly verify: VerifyService) {}

  @Post('routes/:routeId/verify')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: "Compare the route's target with its source (filtered, mapped), in the background, without locking the source",
    description: 'Answers at once with the run (status running); follow it at GET /api/verify-runs/{runId}.',
  })
  @ApiAcceptedResponse({ type: VerifyRunDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  @ApiConflictResponse({ description: 'A verify or repair of this route is already running' })
  startVerify(@Param('routeId') routeId: string, @Body() body: StartVerifyDto): Promise<VerifyRunDto> {
    return this.verify.start(routeId, 'verify', body?.actor);
  }

  @Post('routes/:routeId/repair')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Verify, re-send exactly the differing rows through the route (normal apply path), wait until applied, verify again',
    description: "Answers at once with the run (status running). It ends 'repaired' only if the second verify matched.",
  })
  @ApiAcceptedResponse({ type: VerifyRunDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  @ApiConflictResponse({ description: 'A verify or repair of this route is already running' })
  startRepair(@Param('routeId') routeId: string, @Body() body: StartVerifyDto): Promise<VerifyRunDto> {
    return this.verify.start(routeId, 'repair', body?.actor);
  }

  @Get('routes/:routeId/verify-runs')
  @ApiOperation({ summary: "The route's verify and repair runs, newest first" })
  @ApiOkResponse({ type: [VerifyRunDto] })
  @ApiNotFoundResponse({ description: 'No such route' })
  list(@Param('routeId') routeId: string, @Query() query: ListVerifyRunsQueryDto): Promise<VerifyRunDto[]> {
    return this.verify.list(routeId, query);
  }

  @Get('verify-runs/:runId')
  @ApiOperation({ summary: 'One verify or repair run: counts, the first differences with both rows, or why it failed' })
  @ApiOkResponse({ type: VerifyRunDto })
  @ApiNotFoundResponse({ description: 'No such run' })
  get(@Param('runId', ParseIntPipe) runId: number): Promise<VerifyRunDto> {
    return this.verify.get(runId);
  }
}

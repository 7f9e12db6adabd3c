import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { Response } from 'express';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiRequestTimeoutResponse, ApiTags } from '@nestjs/swagger';
import { WaitAnswerDto, WaitRequestDto } from './dto/wait.dto';
import { WaitService } from './wait.service';
import { RouteStatusDto } from './dto/route-status.dto';
import { StatusService } from './status.service';
import { RouteHistoryDto, RouteHistoryQueryDto } from './dto/route-history.dto';
import { RouteHistoryService } from './route-history';

@ApiTags('status')
@ApiBearerAuth()
@Controller('api')
export class StatusController {
  constructor(
    private readonly status: StatusService,
    private readonly waits: WaitService,
    private readonly history: RouteHistoryService,
  ) {}

  @Get('status')
  @ApiOperation({ summary: 'Status of every route: state, position, lag, throughput, dead letters' })
  @ApiOkResponse({ type: [RouteStatusDto] })
  all(): Promise<RouteStatusDto[]> {
    return this.status.all();
  }

  @Get('status/history')
  @ApiOperation({ summary: "Every route's state, lag and apply rate over time (sampled every 10 s by default, kept 3 h)" })
  @ApiOkResponse({ type: [RouteHistoryDto] })
  allHistory(@Query() query: RouteHistoryQueryDto): Promise<RouteHistoryDto[]> {
    return this.history.all(query.minutes === undefined ? undefined : Number(query.minutes));
  }

  @Get('routes/:routeId/history')
  @ApiOperation({ summary: "One route's state, lag and apply rate over time" })
  @ApiOkResponse({ type: RouteHistoryDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  oneHistory(@Param('routeId') routeId: string, @Query() query: RouteHistoryQueryDto): Promise<RouteHistoryDto> {
    return this.history.one(routeId, query.minutes === undefined ? undefined : Number(query.minutes));
  }

  @Get('routes/:routeId/status')
  @ApiOperation({ summary: 'Status of one route' })
  @ApiOkResponse({ type: RouteStatusDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  one(@Param('routeId') routeId: string): Promise<RouteStatusDto> {
    return this.status.one(routeId);
  }

  @Post('wait')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary:
      'Read-your-writes: wait until the routes (or every route into a target) have applied every change up to a token, committed at their targets',
  })
  @ApiOkResponse({ type: WaitAnswerDto, description: 'Applied: what the token stands for is visible at every named target' })
  @ApiRequestTimeoutResponse({ type: WaitAnswerDto, description: 'Not in time: each late route with its status (state, lag, why)' })
  @ApiNotFoundResponse({ description: 'A route or target the source does not have' })
  async wait(@Body() body: WaitRequestDto, @Res({ passthrough: true }) res: Response): Promise<WaitAnswerDto> {
    const answer = await this.waits.wait(body);
    if (!answer.applied) res.status(HttpStatus.REQUEST_TIMEOUT);
    return answer;
  }
}

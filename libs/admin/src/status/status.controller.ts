import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RouteStatusDto } from './dto/route-status.dto';
import { StatusService } from './status.service';

@ApiTags('status')
@ApiBearerAuth()
@Controller('api')
export class StatusController {
  constructor(private readonly status: StatusService) {}

  @Get('status')
  @ApiOperation({ summary: 'Status of every route: state, position, lag, throughput, dead letters' })
  @ApiOkResponse({ type: [RouteStatusDto] })
  all(): Promise<RouteStatusDto[]> {
    return this.status.all();
  }

  @Get('routes/:routeId/status')
  @ApiOperation({ summary: 'Status of one route' })
  @ApiOkResponse({ type: RouteStatusDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  one(@Param('routeId') routeId: string): Promise<RouteStatusDto> {
    return this.status.one(routeId);
  }
}

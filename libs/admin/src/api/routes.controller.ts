import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseInterceptors } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadGatewayResponse,
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
import { CreatedRouteDto, CreateRouteDto, ResyncRequestDto, RouteDto, UpdatedRouteDto, UpdateRouteDto } from './routes.dto';
import { SnapshotDto } from './snapshot.dto';
import { RoutesService } from './routes.service';
import { ConfigChangeInterceptor } from './config-change.interceptor';
import { SetupErrorsInterceptor } from './setup-errors.interceptor';

@ApiTags('routes')
@ApiBearerAuth()
@UseInterceptors(SetupErrorsInterceptor, ConfigChangeInterceptor)
@Controller('api/routes')
export class RoutesController {
  constructor(private readonly routes: RoutesService) {}

  @Post()
  @ApiOperation({ summary: 'Add a route: one captured source table into one target table (existing rows copied online unless initialCopy is false)' })
  @ApiCreatedResponse({ type: CreatedRouteDto, description: 'The route, and initialCopy: what happens to the rows the table already has' })
  @ApiBadRequestResponse({
    description: 'A field names something that does not exist, is not a valid identifier, is not supported yet, or the existing target table does not fit',
  })
  @ApiConflictResponse({ description: 'The id is taken, or the target table is written by another route' })
  @ApiBadGatewayResponse({ description: 'The target does not answer, so its table could not be checked' })
  create(@Body() body: CreateRouteDto): Promise<CreatedRouteDto> {
    return this.routes.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List routes' })
  @ApiOkResponse({ type: [RouteDto] })
  list(): Promise<RouteDto[]> {
    return this.routes.list();
  }

  @Get(':routeId')
  @ApiOperation({ summary: 'Show a route' })
  @ApiOkResponse({ type: RouteDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  get(@Param('routeId') routeId: string): Promise<RouteDto> {
    return this.routes.get(routeId);
  }

  @Patch(':routeId')
  @ApiOperation({ summary: 'Pause/resume (enabled) or change the target table; running relays and workers follow at once' })
  @ApiOkResponse({ type: UpdatedRouteDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  update(@Param('routeId') routeId: string, @Body() body: UpdateRouteDto): Promise<UpdatedRouteDto> {
    return this.routes.update(routeId, body);
  }

  @Post(':routeId/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause: changes wait in the outbox until resumed' })
  @ApiOkResponse({ type: RouteDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  pause(@Param('routeId') routeId: string): Promise<RouteDto> {
    return this.routes.setEnabled(routeId, false);
  }

  @Post(':routeId/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused route' })
  @ApiOkResponse({ type: RouteDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  resume(@Param('routeId') routeId: string): Promise<RouteDto> {
    return this.routes.setEnabled(routeId, true);
  }

  @Post(':routeId/resync')
  @HttpCode(202)
  @ApiOperation({
    summary: "Copy the route's source rows again (online), e.g. after a filter or mapping change; the relay's copier runs it",
  })
  @ApiAcceptedResponse({ type: SnapshotDto })
  @ApiNotFoundResponse({ description: 'No such route' })
  @ApiConflictResponse({ description: 'An initial copy or re-sync of this route is still running' })
  resync(@Param('routeId') routeId: string, @Body() body: ResyncRequestDto): Promise<SnapshotDto> {
    return this.routes.resync(routeId, body?.actor ?? null);
  }

  @Get(':routeId/snapshot')
  @ApiOperation({ summary: 'The latest initial copy or re-sync of the route: status, rows copied, estimated time left' })
  @ApiOkResponse({ type: SnapshotDto })
  @ApiNotFoundResponse({ description: 'No such route, or it never had a copy' })
  snapshot(@Param('routeId') routeId: string): Promise<SnapshotDto> {
    return this.routes.snapshot(routeId);
  }

  @Delete(':routeId/snapshot')
  @ApiOperation({ summary: 'Cancel a running initial copy or re-sync (rows already copied stay)' })
  @ApiOkResponse({ type: SnapshotDto })
  @ApiNotFoundResponse({ description: 'No such route, or it never had a copy' })
  @ApiConflictResponse({ description: 'Nothing is running' })
  cancelSnapshot(@Param('routeId') routeId: string): Promise<SnapshotDto> {
    return this.routes.cancelSnapshot(routeId, null);
  }

  @Delete(':routeId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a route (its dead letters stay on record)' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ description: 'No such route' })
  delete(@Param('routeId') routeId: string): Promise<void> {
    return this.routes.delete(routeId);
  }
}

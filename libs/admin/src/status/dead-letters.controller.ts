import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
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
import { DeadLetterDto, DeadLetterPageDto, DiscardDeadLetterDto, ListDeadLettersQueryDto, RetryAcceptedDto, RetryDeadLettersDto } from './dto/dead-letter.dto';
import { DeadLettersService } from './dead-letters.service';

@ApiTags('dead letters')
@ApiBearerAuth()
@ApiNotFoundResponse({ description: 'No such route, or no such dead letter on it' })
@Controller('api/routes/:routeId/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @ApiOperation({ summary: "A page of the route's dead letters (default: open ones), in id order" })
  @ApiOkResponse({ type: DeadLetterPageDto })
  @ApiBadRequestResponse({ description: 'Bad status, limit or afterId' })
  list(@Param('routeId') routeId: string, @Query() query: ListDeadLettersQueryDto): Promise<DeadLetterPageDto> {
    return this.deadLetters.list(routeId, query);
  }

  @Post('retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Retry every open dead letter of the route, in seq order, after what is already queued' })
  @ApiAcceptedResponse({ type: RetryAcceptedDto })
  retryAll(@Param('routeId') routeId: string, @Body() body: RetryDeadLettersDto): Promise<RetryAcceptedDto> {
    return this.deadLetters.retryAll(routeId, body?.actor);
  }

  @Get(':letterId')
  @ApiOperation({ summary: 'One dead letter, with the refused change' })
  @ApiOkResponse({ type: DeadLetterDto })
  get(@Param('routeId') routeId: string, @Param('letterId', ParseIntPipe) letterId: number): Promise<DeadLetterDto> {
    return this.deadLetters.get(routeId, letterId);
  }

  @Post(':letterId/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Retry one open dead letter through the normal apply path' })
  @ApiAcceptedResponse({ type: RetryAcceptedDto })
  @ApiConflictResponse({ description: 'The letter is not open (discarded, retried, or a retry is in flight)' })
  retryOne(
    @Param('routeId') routeId: string,
    @Param('letterId', ParseIntPipe) letterId: number,
    @Body() body: RetryDeadLettersDto,
  ): Promise<RetryAcceptedDto> {
    return this.deadLetters.retryOne(routeId, letterId, body?.actor);
  }

  @Post(':letterId/discard')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Discard one open dead letter, recording who and why (it stays listed as discarded)' })
  @ApiOkResponse({ type: DeadLetterDto })
  @ApiBadRequestResponse({ description: 'actor or reason missing' })
  @ApiConflictResponse({ description: 'The letter is not open' })
  discard(
    @Param('routeId') routeId: string,
    @Param('letterId', ParseIntPipe) letterId: number,
    @Body() body: DiscardDeadLetterDto,
  ): Promise<DeadLetterDto> {
    return this.deadLetters.discard(routeId, letterId, body);
  }
}

import { Module } from '@nestjs/common';
import { ApiModule } from '../api/api.module';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersService } from './dead-letters.service';
import { RetryEnqueuer } from './retry-enqueuer';
import { RetryWatchdog } from './retry-watchdog';
import { SourceOutboxRepository } from './source-outbox.repository';
import { StatusController } from './status.controller';
import { StatusSampler } from './status-sampler';
import { StatusService } from './status.service';
import { TableRebuildWatcher } from './table-rebuild-watcher';
import { RouteHistoryService } from './route-history';
import { WaitService } from './wait.service';

/**
 * Route status and dead letters under /api (invariant 9), the backlog
 * and dead-letter gauges of /metrics, and the watch for truncated or rebuilt
 * source tables (which repairs their routes through the API's verify runs). Uses the global core providers:
 * control repositories, queues, metrics, config and logger.
 */
@Module({
  imports: [ApiModule],
  controllers: [StatusController, DeadLettersController],
  providers: [StatusService, StatusSampler, SourceOutboxRepository, DeadLettersService, RetryEnqueuer, RetryWatchdog, WaitService, TableRebuildWatcher, RouteHistoryService],
})
export class StatusModule {}

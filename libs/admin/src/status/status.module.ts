import { Module } from '@nestjs/common';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersService } from './dead-letters.service';
import { RetryEnqueuer } from './retry-enqueuer';
import { RetryWatchdog } from './retry-watchdog';
import { SourceOutboxRepository } from './source-outbox.repository';
import { StatusController } from './status.controller';
import { StatusSampler } from './status-sampler';
import { StatusService } from './status.service';
import { WaitService } from './wait.service';

/**
 * Route status and dead letters under /api (invariant 9), and the backlog
 * and dead-letter gauges of /metrics. Uses the global core providers:
 * control repositories, queues, metrics, config and logger.
 */
@Module({
  controllers: [StatusController, DeadLettersController],
  providers: [StatusService, StatusSampler, SourceOutboxRepository, DeadLettersService, RetryEnqueuer, RetryWatchdog, WaitService],
})
export class StatusModule {}

import { Module } from '@nestjs/common';
import { ConflictsController } from './conflicts.controller';
import { ConflictsService } from './conflicts.service';
import { ResolutionEnqueuer } from './resolution-enqueuer';

/**
 * The conflict log under /api (issue #6): list, read, and decide parked
 * conflicts. Uses the global core providers: control repositories, queues
 * and logger.
 */
@Module({
  controllers: [ConflictsController],
  providers: [ConflictsService, ResolutionEnqueuer],
})
export class ConflictsModule {}

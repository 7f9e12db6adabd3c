import { Module } from '@nestjs/common';

/** bull-board queue dashboard at /queues. */
@Module({})
export class DashboardModule {}

import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

/** The HTTP surface. For now health and metrics; the configuration API comes with issue #3. */
@Module({ controllers: [HealthController, MetricsController] })
export class AdminModule {}

import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

/**
 * `/health` (liveness and readiness) and Prometheus `/metrics`: the whole
 * HTTP surface of the relay and worker apps, and part of the admin's. Public.
 */
@Module({ controllers: [HealthController, MetricsController] })
export class ObservabilityModule {}

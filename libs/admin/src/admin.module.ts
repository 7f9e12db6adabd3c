import { Module } from '@nestjs/common';
import { ApiModule } from './api/api.module';
import { AuthModule } from './auth/auth.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { StatusModule } from './status/status.module';

/** The admin HTTP surface: configuration API, status, dashboard, docs, health and metrics. */
@Module({
  imports: [AuthModule, ApiModule, StatusModule, DashboardModule],
  controllers: [HealthController, MetricsController],
})
export class AdminModule {}

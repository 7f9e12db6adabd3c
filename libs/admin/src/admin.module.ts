import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ApiModule } from './api/api.module';
import { ConflictsModule } from './conflicts/conflicts.module';
import { AuthModule } from './auth/auth.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { ErrorFilter } from './http/error.filter';
import { QueryParametersGuard } from './http/query-parameters.guard';
import { createValidationPipe } from './http/validation';
import { ObservabilityModule } from '@tributary/observability';
import { StatusModule } from './status/status.module';

/**
 * The admin HTTP surface: configuration API, status, dashboard, docs, health
 * and metrics. The error filter and validation pipe are global, so they apply
 * wherever this module is composed (admin app, all-in-one app).
 */
@Module({
  imports: [AuthModule, ApiModule, StatusModule, ConflictsModule, DashboardModule, ObservabilityModule],
  providers: [
    { provide: APP_FILTER, useClass: ErrorFilter },
    { provide: APP_PIPE, useFactory: createValidationPipe },
    // After AuthGuard (AuthModule's, registered first): an anonymous caller learns nothing about parameters.
    { provide: APP_GUARD, useClass: QueryParametersGuard },
  ],
})
export class AdminModule {}

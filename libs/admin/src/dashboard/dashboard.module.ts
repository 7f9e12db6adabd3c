import { Module } from '@nestjs/common';
import { QueueDashboard } from './queue-dashboard.service';

/** bull-board queue dashboard at /queues (mounted by configureAdminHttp, behind the token). */
@Module({ providers: [QueueDashboard], exports: [QueueDashboard] })
export class DashboardModule {}

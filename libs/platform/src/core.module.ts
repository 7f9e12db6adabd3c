import { Module } from '@nestjs/common';
import { ConfigModule } from '@tributary/config';
import { ControlModule } from '@tributary/control';
import { LoggerModule } from '@tributary/logger';
import { MetricsModule } from '@tributary/metrics';
import { QueueModule } from '@tributary/queue';

/** What every Tributary process needs: config, logs, the control schema, Redis and metrics. */
@Module({ imports: [ConfigModule, LoggerModule, ControlModule, QueueModule, MetricsModule] })
export class CoreModule {}

import { Global, Module } from '@nestjs/common';
import { Metrics } from './metrics';

@Global()
@Module({
  providers: [{ provide: Metrics, useFactory: () => new Metrics({ defaultMetrics: true }) }],
  exports: [Metrics],
})
export class MetricsModule {}

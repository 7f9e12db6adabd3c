import { Module } from '@nestjs/common';
import { RelayService } from './relay.service';

/** Composed into the relay app and the all-in-one app; expects Config, Logger, Control, Queue and Metrics modules. */
@Module({ providers: [RelayService] })
export class RelayModule {}

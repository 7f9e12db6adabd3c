import { Module } from '@nestjs/common';

/** Token authentication for everything but health and metrics. */
@Module({})
export class AuthModule {}

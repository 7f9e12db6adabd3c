import { Module } from '@nestjs/common';

/** Route status and dead letters under /api. */
@Module({})
export class StatusModule {}

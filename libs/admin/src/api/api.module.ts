import { Module } from '@nestjs/common';

/** Configuration API under /api: sources, tables, targets, routes. */
@Module({})
export class ApiModule {}

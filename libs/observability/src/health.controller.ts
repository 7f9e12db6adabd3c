import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { Knex } from 'knex';
import { CONTROL_KNEX } from '@tributary/control';
import { REDIS, RedisClient } from '@tributary/queue';

/** Liveness and readiness: the control database and Redis answer. No secrets, no token needed. */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(CONTROL_KNEX) private readonly knex: Knex,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get()
  async ready() {
    const checks = {
      controlDatabase: await check(() => this.knex.raw('SELECT 1')),
      redis: await check(() => this.redis.ping()),
    };
    const ok = Object.values(checks).every((value) => value === 'ok');
    if (!ok) throw new HttpException({ status: 'unavailable', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'ok', checks };
  }
}

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await probe();
    return 'ok';
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  }
}

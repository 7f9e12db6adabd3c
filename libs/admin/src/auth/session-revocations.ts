import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { REDIS } from '@tributary/queue';
import { Session } from './session-cookie';

/**
 * Sessions ended by `POST /logout`, shared by every admin process through
 * Redis: a key per revoked session id that expires when the session would
 * have. (If Redis loses its data, a signed-out session works again until
 * its 12 h are up; changing ADMIN_TOKEN ends every session for good.)
 */
@Injectable()
export class SessionRevocations {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) config: TributaryConfig,
  ) {
    this.prefix = `${config.redis.prefix}:admin:revoked-session:`;
  }

  async revoke(session: Session, nowMs = Date.now()): Promise<void> {
    const seconds = Math.ceil((session.expiresAtMs - nowMs) / 1000);
    if (seconds > 0) await this.redis.set(this.prefix + session.id, '1', 'EX', seconds);
  }

  async isRevoked(id: string): Promise<boolean> {
    return (await this.redis.exists(this.prefix + id)) === 1;
  }
}

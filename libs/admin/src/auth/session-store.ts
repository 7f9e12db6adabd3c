import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { REDIS, RedisClient } from '@tributary/queue';
import { Session } from './session-cookie';

/**
 * The sessions that are open, shared by every admin process through Redis: a
 * key per session id, set at sign-in, deleted at `POST /logout`, expiring
 * when the session would. A cookie counts only while its key exists, so a
 * signed-out session stays ended even if Redis loses its data: then every
 * browser signs in again (fail closed), rather than every signed-out cookie
 * working again. Changing ADMIN_TOKEN ends every session too (the cookie's
 * HMAC no longer verifies).
 */
@Injectable()
export class SessionStore {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(CONFIG) config: TributaryConfig,
  ) {
    this.prefix = `${config.redis.prefix}:admin:session:`;
  }

  async open(session: Session, nowMs = Date.now()): Promise<void> {
    const seconds = Math.ceil((session.expiresAtMs - nowMs) / 1000);
    if (seconds > 0) await this.redis.set(this.prefix + session.id, '1', 'EX', seconds);
  }

  async isOpen(id: string): Promise<boolean> {
    return (await this.redis.exists(this.prefix + id)) === 1;
  }

  async close(session: Session): Promise<void> {
    await this.redis.del(this.prefix + session.id);
  }
}

import { Knex } from 'knex';
import { openMysql, SourceRecord } from '@tributary/control';
import { OutboxRepository } from '@tributary/outbox';

/** A range job names a source the worker does not know (yet): the job waits and is retried. */
export class UnknownSourceError extends Error {
  constructor(sourceId: string) {
    super(`source ${sourceId} is not configured (or not yet known to this worker)`);
    this.name = 'UnknownSourceError';
  }
}

/**
 * The outboxes workers read their routes' changes from, one small pool per
 * source, rebuilt when a source's URL changes. Workers only read (SELECT on
 * the outbox): the relay tells them where, they fetch the rows themselves.
 */
export class SourceOutboxes {
  private readonly pools = new Map<string, { url: string; knex: Knex; outbox: OutboxRepository }>();
  private urls = new Map<string, string>();

  constructor(private readonly connectionsPerSource = 4) {}

  /** Follows the source list: pools of removed or re-pointed sources are closed. */
  async sync(sources: readonly SourceRecord[]): Promise<void> {
    this.urls = new Map(sources.map((source) => [source.id, source.url]));
    for (const [id, pool] of this.pools) {
      if (this.urls.get(id) === pool.url) continue;
      this.pools.delete(id);
      await pool.knex.destroy().catch(() => undefined);
    }
  }

  /** @throws UnknownSourceError */
  get(sourceId: string): OutboxRepository {
    const cached = this.pools.get(sourceId);
    if (cached) return cached.outbox;
    const url = this.urls.get(sourceId);
    if (url === undefined) throw new UnknownSourceError(sourceId);
    const knex = openMysql(url, { min: 0, max: this.connectionsPerSource });
    const pool = { url, knex, outbox: new OutboxRepository(knex) };
    this.pools.set(sourceId, pool);
    return pool.outbox;
  }

  async close(): Promise<void> {
    await this.sync([]);
  }
}

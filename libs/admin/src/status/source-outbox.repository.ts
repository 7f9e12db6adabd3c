import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Knex } from 'knex';
import { innodbTableIds } from '@tributary/capture';
import { openMysql, SourceRecord } from '@tributary/control';
import { TS_MICROS } from '@tributary/db';
import { RouteSelector } from '@tributary/model';
import { OutboxRepository } from '@tributary/outbox';

/** Counting stops here: a backlog this deep is reported as "at least". */
export const BACKLOG_COUNT_CAP = 1_000_000;

/** What of a route is still in its source's outbox. */
export interface Backlog {
  /** Outbox rows of the route's table past its checkpoint, at most BACKLOG_COUNT_CAP. */
  changes: number;
  /** True when the count hit the cap. */
  capped: boolean;
  /** Age of the oldest such row (now − capture time), 0 when there is none. */
  seconds: number;
}

/** A route (whose changes count) and its applied watermark (every change at or below it is durably applied). */
export interface BacklogQuery extends RouteSelector {
  watermark: number;
}

/**
 * Reads routes' backlogs from their SOURCE outboxes — the source of truth
 * until every route applied a change (invariant 1) — and the captured
 * tables' InnoDB ids, through one small pool per source, cached and rebuilt
 * when the source's URL changes.
 */
@Injectable()
export class SourceOutboxRepository implements OnApplicationShutdown {
  private readonly pools = new Map<string, { url: string; knex: Knex }>();

  async backlog(source: SourceRecord, query: BacklogQuery): Promise<Backlog> {
    const outbox = new OutboxRepository(await this.pool(source));
    const { count, oldestTs } = await outbox.routeBacklog(query, query.watermark, BACKLOG_COUNT_CAP);
    const seconds = oldestTs === null ? 0 : Math.max(0, Date.now() / 1000 - oldestTs / 1e6);
    return { changes: Math.min(count, BACKLOG_COUNT_CAP), capped: count > BACKLOG_COUNT_CAP, seconds: Math.round(seconds * 1000) / 1000 };
  }

  /** The source server's clock now, µs since the epoch (TS_MICROS, as the relay reads it). */
  async clockMicros(source: SourceRecord): Promise<number> {
    const [rows] = await (await this.pool(source)).raw(`SELECT ${TS_MICROS} AS now`);
    return Number((rows as Array<{ now: number | string }>)[0].now);
  }

  /** The captured tables' InnoDB ids at the source (innodbTableIds), through the same pool. */
  async tableIds(source: SourceRecord, tables: readonly string[]): Promise<Map<string, number>> {
    return innodbTableIds(await this.pool(source), tables);
  }

  /** Closes pools of sources that are gone. */
  async retain(sourceIds: ReadonlySet<string>): Promise<void> {
    for (const [id, pool] of this.pools) {
      if (sourceIds.has(id)) continue;
      this.pools.delete(id);
      await pool.knex.destroy().catch(() => undefined);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.retain(new Set());
  }

  private async pool(source: SourceRecord): Promise<Knex> {
    const cached = this.pools.get(source.id);
    if (cached && cached.url === source.url) return cached.knex;
    if (cached) await cached.knex.destroy().catch(() => undefined);
    const knex = openMysql(source.url, { min: 0, max: 2 });
    this.pools.set(source.id, { url: source.url, knex });
    return knex;
  }
}

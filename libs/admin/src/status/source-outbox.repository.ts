import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Knex } from 'knex';
import { openMysql, SourceRecord } from '@tributary/control';
import { OUTBOX_TABLE } from '@tributary/db';
import { COPY_ORIGIN_PREFIX, copyOrigin } from '@tributary/model';

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

export interface BacklogQuery {
  table: string;
  /** The route's applied watermark: every change at or below it is durably applied. */
  watermark: number;
  /** Changes with this origin are never sent to the route's target (invariant 6), so never lag. */
  echoOrigin: string;
  /** Copy records for this route count; those written for other routes of the table are not its lag. */
  routeId: string;
}

const OUTBOX = '`' + OUTBOX_TABLE + '`';
const PENDING = `seq > ? AND table_name = ? AND (origin IS NULL OR (origin <> ? AND (origin NOT LIKE '${COPY_ORIGIN_PREFIX}%' OR origin = ?)))`;

/**
 * Reads routes' backlogs from their SOURCE outboxes — the source of truth
 * until every route applied a change (invariant 1) — through one small pool
 * per source, cached and rebuilt when the source's URL changes.
 */
@Injectable()
export class SourceOutboxRepository implements OnApplicationShutdown {
  private readonly pools = new Map<string, { url: string; knex: Knex }>();

  async backlog(source: SourceRecord, query: BacklogQuery): Promise<Backlog> {
    const knex = await this.pool(source);
    const params = [query.watermark, query.table, query.echoOrigin, copyOrigin(query.routeId)];
    // Bounded: the subquery stops at the cap, however deep the backlog is.
    const [counted] = await knex.raw(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${OUTBOX} WHERE ${PENDING} LIMIT ?) AS backlog`, [
      ...params,
      BACKLOG_COUNT_CAP + 1,
    ]);
    const count = Number((counted as Array<{ n: number | string }>)[0].n);
    if (count === 0) return { changes: 0, capped: false, seconds: 0 };
    // Lowest seq first: allocation order, a close enough stand-in for the oldest capture time.
    const [oldest] = await knex.raw(`SELECT ts FROM ${OUTBOX} WHERE ${PENDING} ORDER BY seq LIMIT 1`, params);
    const ts = (oldest as Array<{ ts: number | string }>)[0]?.ts;
    const seconds = ts === undefined ? 0 : Math.max(0, Date.now() / 1000 - Number(ts) / 1e6);
    return { changes: Math.min(count, BACKLOG_COUNT_CAP), capped: count > BACKLOG_COUNT_CAP, seconds: Math.round(seconds * 1000) / 1000 };
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

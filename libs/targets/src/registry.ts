import { TargetConfigError } from './errors';
import { httpTargetFactory } from './http/http.target';
import { natsTargetFactory } from './nats/nats.target';
import { rabbitMqTargetFactory } from './rabbitmq/rabbitmq.target';
import { mysqlTargetFactory } from './mysql/mysql.target';
import { postgresTargetFactory } from './postgres/postgres.target';
import { redisTargetFactory } from './redis/redis.target';
import { sqliteTargetFactory } from './sqlite/sqlite.target';
import { Target, TargetConnection, TargetFactory } from './target';

export type { TargetConnection, TargetFactory } from './target';

/** Picks a target class by kind: adding a target is one register() call, never a switch. */
export class TargetRegistry {
  private readonly factories = new Map<string, TargetFactory>();

  register(factory: TargetFactory): this {
    if (this.factories.has(factory.kind)) throw new TargetConfigError(`target kind ${factory.kind} is already registered`);
    this.factories.set(factory.kind, factory);
    return this;
  }

  /** Throws TargetConfigError for an unknown kind (naming the known ones) or a connection the factory refuses. */
  create(connection: TargetConnection): Target {
    const factory = this.factories.get(connection.kind);
    if (!factory) {
      throw new TargetConfigError(`unknown target kind ${JSON.stringify(connection.kind)}; known kinds: ${this.kinds().join(', ')}`);
    }
    return factory.create(connection);
  }

  kinds(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** The kinds whose targets can detect conflicts (TargetFactory.detectsConflicts). */
  conflictKinds(): string[] {
    return this.kinds().filter((kind) => this.factories.get(kind)!.detectsConflicts);
  }

  /** The kinds whose targets keep versions per source (TargetFactory.versionsPerSource). */
  sourceVersionKinds(): string[] {
    return this.kinds().filter((kind) => this.factories.get(kind)!.versionsPerSource);
  }
}

/** Process-wide limits on what a target may point at. */
export interface TargetSettings {
  /** SQLite files must lie inside this directory (SQLITE_DIR); null lets them be anywhere (tests, embedding). */
  sqliteDir: string | null;
  /** Hosts webhooks may call (HTTP_TARGET_HOSTS); null: any. */
  httpHosts?: readonly string[] | null;
}

/**
 * The built-in targets: 'postgres', 'mysql' (which also serves MariaDB), 'sqlite', 'redis', 'http' (webhook),
 * and the change streams 'nats' (JetStream) and 'rabbitmq'.
 */
export function defaultTargetRegistry(settings: TargetSettings = { sqliteDir: null, httpHosts: null }): TargetRegistry {
  return new TargetRegistry().register(postgresTargetFactory).register(mysqlTargetFactory).register(sqliteTargetFactory(settings.sqliteDir))
    .register(redisTargetFactory)
    .register(httpTargetFactory(settings.httpHosts ?? null))
    .register(natsTargetFactory)
    .register(rabbitMqTargetFactory);
}

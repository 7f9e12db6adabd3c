import { Test, TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { CONFIG, loadConfig } from '@tributary/config';
import { CapturedTableRecord, CatalogRepository, ConflictRepository, DeadLetterRepository, ProgressRepository, RouteRecord, SourceRecord, TargetRecord } from '@tributary/control';
import { createLogger, LOGGER } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';
import { REDIS, SignalHandlers, SignalListener } from '@tributary/queue';
import { TargetRegistry } from '@tributary/targets';
import { RouteConsumer } from './route-consumer';
import { RouteNotReadyError, SourceConsumer, SourceConsumerDeps } from './source-consumer';
import { WorkerParts } from './worker-parts';
import { WorkerService } from './worker.service';

/**
 * WorkerService in a Nest testing module with fake parts (no Redis, no
 * database): an in-memory catalog, and a WorkerParts that hands out
 * consumers which only remember what they were told. What it must do with
 * a configuration: a consumer per source and per servable route, changes
 * handed to the consumer it has, removed ones closed without holding up the
 * refresh (shutdown waits for them), a job's unknown route looked up once
 * more and never dropped while it may exist, and a configuration-change
 * signal acted on at once.
 */

const shop: SourceRecord = { id: 'shop', url: 'mysql://nowhere/shop' };
const crm: SourceRecord = { id: 'crm', url: 'mysql://nowhere/crm' };
const pg: TargetRecord = { id: 'pg', kind: 'postgres', url: 'postgres://nowhere/x', options: {} };
const items: RouteRecord = { id: 'items-pg', sourceId: 'shop', table: 'items', targetId: 'pg', targetTable: 'items', enabled: true };
const contacts: RouteRecord = { id: 'contacts-pg', sourceId: 'crm', table: 'contacts', targetId: 'pg', targetTable: 'contacts', enabled: true };
/** A route whose target was deleted (or not created yet). */
const orphan: RouteRecord = { id: 'orders-es', sourceId: 'shop', table: 'orders', targetId: 'es', targetTable: 'orders', enabled: true };

/** The timer never fires within a test: every refresh here is one the test caused. */
const config = loadConfig({ LOG_LEVEL: 'silent', CONFIG_REFRESH_MS: String(60 * 60_000) });

/** The catalog's lists, read as they are when the read starts (a read is not affected by a change made while it waits). */
class FakeCatalog {
  routes: RouteRecord[] = [items];
  targets: TargetRecord[] = [pg];
  sources: SourceRecord[] = [shop];
  /** Set: reads fail with it (the control database is down). */
  failure: Error | null = null;
  /** Set: reads wait for it. */
  gate: Promise<void> | null = null;
  /** How many times the configuration was read. */
  reads = 0;

  listRoutes = () => this.read(this.routes, true);
  listTargets = () => this.read(this.targets);
  listSources = () => this.read(this.sources);
  listCapturedTables = () => this.read<CapturedTableRecord>([]);

  private async read<T>(list: T[], counts = false): Promise<T[]> {
    if (counts) this.reads++;
    const [snapshot, failure, gate] = [[...list], this.failure, this.gate];
    if (gate) await gate;
    if (failure) throw failure;
    return snapshot;
  }
}

class FakeRouteConsumer {
  update = jest.fn<void, [RouteRecord, TargetRecord]>();
  close = jest.fn(async (): Promise<void> => undefined);

  constructor(
    readonly route: RouteRecord,
    readonly target: TargetRecord,
  ) {}
}

class FakeSourceConsumer {
  close = jest.fn(async (): Promise<void> => undefined);

  constructor(
    readonly sourceId: string,
    readonly deps: SourceConsumerDeps,
  ) {}
}

/** Every consumer the service made, in order, and the signal listener with the handlers it was given. */
class FakeParts implements WorkerParts {
  readonly routeConsumers: FakeRouteConsumer[] = [];
  readonly sourceConsumers: FakeSourceConsumer[] = [];
  readonly listener = { start: jest.fn(async (): Promise<void> => undefined), close: jest.fn() };
  handlers: SignalHandlers = {};

  createRouteConsumer(route: RouteRecord, target: TargetRecord): RouteConsumer {
    const consumer = new FakeRouteConsumer(route, target);
    this.routeConsumers.push(consumer);
    return consumer as unknown as RouteConsumer;
  }

  createSourceConsumer(sourceId: string, deps: SourceConsumerDeps): SourceConsumer {
    const consumer = new FakeSourceConsumer(sourceId, deps);
    this.sourceConsumers.push(consumer);
    return consumer as unknown as SourceConsumer;
  }

  createSignalListener(_redis: Redis, _prefix: string, handlers: SignalHandlers): SignalListener {
    this.handlers = handlers;
    return this.listener as unknown as SignalListener;
  }

  routeConsumer(routeId: string): FakeRouteConsumer {
    const found = this.routeConsumers.filter((consumer) => consumer.route.id === routeId);
    if (found.length !== 1) throw new Error(`${found.length} consumers of route ${routeId}`);
    return found[0];
  }

  sourceConsumer(sourceId: string): FakeSourceConsumer {
    const found = this.sourceConsumers.filter((consumer) => consumer.sourceId === sourceId);
    if (found.length !== 1) throw new Error(`${found.length} consumers of source ${sourceId}`);
    return found[0];
  }

  /** What a source consumer asks when a job names `routeId` (the service's answer, through the deps it gave the consumer). */
  lookUp(routeId: string): Promise<RouteConsumer | null> {
    return this.sourceConsumer('shop').deps.routeConsumer(routeId);
  }
}

/** Lets every promise that can settle now settle (the fakes never wait on a timer). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Releases of the closes tests hold, so that a test failing half-way still shuts down. */
const holds: Array<() => void> = [];

/** A close() that ends when the test says so. */
function heldClose() {
  let release!: () => void;
  const closed = new Promise<void>((resolve) => (release = resolve));
  holds.push(release);
  return { closed, release };
}

let running: TestingModule | null = null;

afterEach(async () => {
  // A test that failed half-way must not leave the refresh timer keeping jest alive, nor hang on a held close.
  for (const release of holds.splice(0)) release();
  await running?.close();
  running = null;
});

/** Compiles and boots the service (onApplicationBootstrap: the signal listener and the first read). */
async function start(catalog = new FakeCatalog(), logger = createLogger('silent')) {
  const parts = new FakeParts();
  const moduleRef = await Test.createTestingModule({
    providers: [
      WorkerService,
      { provide: WorkerParts, useValue: parts },
      { provide: CONFIG, useValue: config },
      { provide: LOGGER, useValue: logger },
      { provide: CatalogRepository, useValue: catalog },
      // Only handed on to the parts, which are fakes here.
      { provide: REDIS, useValue: {} },
      { provide: ProgressRepository, useValue: {} },
      { provide: DeadLetterRepository, useValue: {} },
      { provide: ConflictRepository, useValue: {} },
      { provide: Metrics, useValue: {} },
      { provide: TargetRegistry, useValue: {} },
    ],
  }).compile();
  running = moduleRef;
  await moduleRef.init();
  /** Shuts the service down as the app does (beforeApplicationShutdown). */
  const stop = async () => {
    running = null;
    await moduleRef.close();
  };
  return { catalog, parts, stop };
}

describe('WorkerService', () => {
  it('starts a consumer for every source, routes or not, and for every route whose target exists; a route without its target is skipped, with an error', async () => {
    const catalog = new FakeCatalog();
    catalog.sources = [shop, crm];
    catalog.routes = [items, orphan];
    const logger = createLogger('silent');
    const error = jest.spyOn(logger, 'error');
    // The error is the operator's only sign of why the route does nothing, so it is checked here.
    const { parts } = await start(catalog, logger);

    expect(parts.listener.start).toHaveBeenCalledTimes(1);
    expect(parts.routeConsumers.map((consumer) => [consumer.route, consumer.target])).toEqual([[items, pg]]);
    expect(parts.sourceConsumers.map((consumer) => consumer.sourceId)).toEqual(['shop', 'crm']);
    expect(error).toHaveBeenCalledWith(expect.objectContaining({ route: orphan.id, target: 'es' }), expect.any(String));
  });

  it('hands a changed route and a changed target to the consumer it has, and starts no second one', async () => {
    const { catalog, parts } = await start();
    const paused = { ...items, enabled: false };
    const moved = { ...pg, url: 'postgres://elsewhere/x' };
    catalog.routes = [paused];
    catalog.targets = [moved];

    parts.handlers.configChanged?.();
    await settle();

    expect(parts.routeConsumers).toHaveLength(1);
    expect(parts.routeConsumer(items.id).update).toHaveBeenLastCalledWith(paused, moved);
    expect(parts.routeConsumer(items.id).close).not.toHaveBeenCalled();
    expect(parts.sourceConsumers).toHaveLength(1);
  });

  it("closes a removed route's and a removed source's consumers without holding up the refresh; shutdown waits for them, then closes the rest", async () => {
    const catalog = new FakeCatalog();
    catalog.sources = [shop, crm];
    catalog.routes = [items, contacts];
    const { parts, stop } = await start(catalog);
    const route = heldClose();
    const source = heldClose();
    parts.routeConsumer(contacts.id).close.mockReturnValue(route.closed);
    parts.sourceConsumer('crm').close.mockReturnValue(source.closed);

    catalog.sources = [shop];
    catalog.routes = [items];
    parts.handlers.configChanged?.();
    await settle();
    expect(parts.routeConsumer(contacts.id).close).toHaveBeenCalledTimes(1);
    expect(parts.sourceConsumer('crm').close).toHaveBeenCalledTimes(1);

    // The refresh ended although neither close has: the next signal is read at once, not queued behind it.
    const reads = catalog.reads;
    parts.handlers.configChanged?.();
    await settle();
    expect(catalog.reads).toBe(reads + 1);

    let stopped = false;
    const stopping = stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    route.release();
    source.release();
    await stopping;

    expect(parts.listener.close).toHaveBeenCalledTimes(1);
    expect(parts.routeConsumer(items.id).close).toHaveBeenCalledTimes(1);
    expect(parts.sourceConsumer('shop').close).toHaveBeenCalledTimes(1);
    // Closed once: in the background, not again at shutdown.
    expect(parts.routeConsumer(contacts.id).close).toHaveBeenCalledTimes(1);
    expect(parts.sourceConsumer('crm').close).toHaveBeenCalledTimes(1);
  });

  describe("a job's route (what a source consumer asks)", () => {
    it('is answered without a read when the route is known', async () => {
      const { catalog, parts } = await start();
      const reads = catalog.reads;
      expect(await parts.lookUp(items.id)).toBe(parts.routeConsumer(items.id));
      expect(catalog.reads).toBe(reads);
    });

    it('reads the configuration once more for a route it does not know yet (created a moment ago), and hands over its new consumer', async () => {
      const { catalog, parts } = await start();
      const fresh: RouteRecord = { ...items, id: 'items-pg-2', targetTable: 'items_2' };
      catalog.routes = [items, fresh];
      const reads = catalog.reads;

      expect(await parts.lookUp(fresh.id)).toBe(parts.routeConsumer(fresh.id));
      expect(catalog.reads).toBe(reads + 1);
    });

    it('is not ready, rather than gone, while the catalog lists the route but its target is missing', async () => {
      const catalog = new FakeCatalog();
      catalog.routes = [items, orphan];
      const { parts } = await start(catalog);

      await expect(parts.lookUp(orphan.id)).rejects.toBeInstanceOf(RouteNotReadyError);
    });

    it('is not ready, rather than gone, when the configuration cannot be read', async () => {
      const { catalog, parts } = await start();
      catalog.failure = new Error('connect ECONNREFUSED 127.0.0.1:3306');

      await expect(parts.lookUp('created-meanwhile')).rejects.toBeInstanceOf(RouteNotReadyError);
    });

    it('is null once the catalog, read just now, no longer lists the route', async () => {
      const { catalog, parts } = await start();
      const reads = catalog.reads;

      expect(await parts.lookUp('deleted')).toBeNull();
      expect(catalog.reads).toBe(reads + 1);
    });
  });

  it('reads the configuration again at once on a configuration-change signal, even one that comes during a read', async () => {
    const { catalog, parts } = await start();
    const reads = catalog.reads;
    const fresh: RouteRecord = { ...items, id: 'items-pg-2', targetTable: 'items_2' };

    parts.handlers.configChanged?.();
    await settle();
    expect(catalog.reads).toBe(reads + 1);

    // A read already under way began before this change: the signal must bring one more, not join it.
    let open!: () => void;
    catalog.gate = new Promise<void>((resolve) => (open = resolve));
    parts.handlers.configChanged?.();
    await settle();
    catalog.gate = null;
    catalog.routes = [items, fresh];
    parts.handlers.configChanged?.();
    open();
    await settle();

    expect(catalog.reads).toBe(reads + 3);
    expect(parts.routeConsumer(fresh.id).route).toEqual(fresh);
  });
});

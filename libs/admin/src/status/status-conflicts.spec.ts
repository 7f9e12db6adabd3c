import { CatalogRepository, ConflictRepository, DeadLetterRepository, ProgressRepository, RouteRecord, SnapshotRepository } from '@tributary/control';
import { SourceOutboxRepository } from './source-outbox.repository';
import { StatusService } from './status.service';

const route = (id: string): RouteRecord => ({ id, sourceId: 'shop', table: 'orders', targetId: 'pg', targetTable: 'orders', enabled: true });

describe('route status: open conflicts', () => {
  const countOpen = jest.fn(async (routeIds?: readonly string[]) => {
    const all = new Map([['a', 3]]);
    return routeIds ? new Map([...all].filter(([id]) => routeIds.includes(id))) : all;
  });
  const service = new StatusService(
    {
      listRoutes: async () => [route('a'), route('b')],
      listSources: async () => [],
      getRoute: async (id: string) => route(id),
      getSource: async () => null,
      listCapturedTables: async () => [],
      getCapturedTable: async () => null,
    } as unknown as CatalogRepository,
    { listProgress: async () => [] } as unknown as ProgressRepository,
    { countUnresolved: async () => new Map() } as unknown as DeadLetterRepository,
    { list: async () => [], get: async () => null } as unknown as SnapshotRepository,
    { retain: async () => undefined } as unknown as SourceOutboxRepository,
    { countOpen } as unknown as ConflictRepository,
  );

  it('reports parked conflicts per route, 0 for routes without any', async () => {
    const all = await service.all();
    expect(all.map((status) => [status.route, status.conflicts])).toEqual([
      ['a', { open: 3 }],
      ['b', { open: 0 }],
    ]);
    expect((await service.one('a')).conflicts).toEqual({ open: 3 });
    expect(countOpen).toHaveBeenLastCalledWith(['a']);
    expect((await service.one('b')).conflicts).toEqual({ open: 0 });
  });
});

import { RouteSample } from '@tributary/control';
import { historyPoints } from './route-history';

const sample = (second: number, appliedTotal: number, over: Partial<RouteSample> = {}): RouteSample => ({
  routeId: 'r', at: new Date(Date.UTC(2026, 11, 6, 12, 0, second)), state: 'running', lagChanges: 0, lagSeconds: 0, appliedTotal, watermark: appliedTotal, ...over,
});

describe('historyPoints', () => {
  it('gives each point the apply rate since the one before, starting over when the total went down', () => {
    const points = historyPoints([sample(0, 100), sample(10, 600), sample(20, 600, { state: 'failing', lagChanges: null, lagSeconds: null }), sample(30, 50)]);
    expect(points.map((p) => p.changesPerSecond)).toEqual([0, 50, 0, 0]);
    expect(points[2]).toMatchObject({ at: '2026-12-06T12:00:20.000Z', state: 'failing', lagChanges: null, lagSeconds: null });
  });
});

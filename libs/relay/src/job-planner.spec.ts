import { WireChange } from '@tributary/model';
import { planJobs } from './job-planner';

const change = (seq: number, table = 'orders', origin: string | null = null): WireChange => ({
  seq, table, op: 'insert', pk: `{"id":${seq}}`, before: null, after: `{"id":${seq}}`, origin, ts: 0, schema: 'h',
});

const base = { sourceId: 'src', watermarkBefore: 10, watermarkAfter: 20, heartbeat: new Set<string>(), maxRows: 2, maxBytes: 1 << 20 };

describe('planJobs', () => {
  it('bounds jobs by rows and gives only the last job of a route the new watermark', () => {
    const jobs = planJobs({ ...base, changes: [11, 12, 13].map((s) => change(s)), routes: [{ routeId: 'r', table: 'orders', echoOrigin: 'tributary:t' }] });
    expect(jobs.map((j) => [j.changes.map((c) => c.seq), j.watermark])).toEqual([
      [[11, 12], 10],
      [[13], 20],
    ]);
  });

  it('bounds jobs by bytes', () => {
    const jobs = planJobs({ ...base, maxRows: 100, maxBytes: 200, changes: [11, 12, 13].map((s) => change(s)), routes: [{ routeId: 'r', table: 'orders', echoOrigin: 'x' }] });
    expect(jobs.length).toBeGreaterThan(1);
    expect(jobs.flatMap((j) => j.changes.map((c) => c.seq))).toEqual([11, 12, 13]);
  });

  it('sends each route only its table and never echoes a change back to where it came from', () => {
    const jobs = planJobs({
      ...base,
      changes: [change(11), change(12, 'users'), change(13, 'orders', 'tributary:b')],
      routes: [
        { routeId: 'to-b', table: 'orders', echoOrigin: 'tributary:b' },
        { routeId: 'to-c', table: 'orders', echoOrigin: 'tributary:c' },
      ],
    });
    expect(jobs.map((j) => [j.routeId, j.changes.map((c) => c.seq)])).toEqual([
      ['to-b', [11]],
      ['to-c', [11, 13]],
    ]);
  });

  it('sends copy records only to the route they were written for', () => {
    const jobs = planJobs({
      ...base,
      maxRows: 100,
      changes: [change(11), change(12, 'orders', 'tributary-copy:to-c'), change(13, 'orders', 'tributary-copy:to-b')],
      routes: [
        { routeId: 'to-b', table: 'orders', echoOrigin: 'tributary:b' },
        { routeId: 'to-c', table: 'orders', echoOrigin: 'tributary:c' },
      ],
    });
    expect(jobs.map((j) => [j.routeId, j.changes.map((c) => c.seq)])).toEqual([
      ['to-b', [11, 13]],
      ['to-c', [11, 12]],
    ]);
  });

  it('sends a heartbeat with the new watermark to an idle route only when asked', () => {
    const routes = [{ routeId: 'idle', table: 'other', echoOrigin: 'x' }];
    expect(planJobs({ ...base, changes: [change(11)], routes })).toEqual([]);
    const jobs = planJobs({ ...base, changes: [change(11)], routes, heartbeat: new Set(['idle']) });
    expect(jobs).toEqual([{ v: 1, sourceId: 'src', routeId: 'idle', table: 'other', watermark: 20, changes: [] }]);
  });
});

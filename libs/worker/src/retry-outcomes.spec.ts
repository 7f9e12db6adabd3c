import { WireChange } from '@tributary/model';
import { RetryJobData } from '@tributary/queue';
import { retryOutcomes } from './retry-outcomes';

const change = (seq: number): WireChange => ({ seq, table: 't', op: 'insert', pk: '{}', before: null, after: '{}', origin: null, ts: 0, schema: 'h' });

describe('retryOutcomes', () => {
  it('pairs each letter with what became of its change', () => {
    const job: RetryJobData = { v: 2, kind: 'retry', sourceId: 's', routeId: 'r', table: 't', changes: [change(5), change(6), change(7)], retryOf: [50, 60, 70] };
    const outcomes = retryOutcomes(job, new Set([6]), new Set([7]));
    expect(outcomes.map(({ id, seq, outcome }) => [id, seq, outcome])).toEqual([
      [50, 5, 'applied'],
      [60, 6, 'refused'],
      [70, 7, 'superseded'],
    ]);
    expect(outcomes[2].note).toMatch(/newer change than seq 7/);
  });

});

import { WireChange } from '@tributary/model';
import { RetryJobData } from '@tributary/queue';
import { retryOutcomes, retryTurns } from './retry-outcomes';

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

describe('retryTurns', () => {
  it('keeps letters of one copy chunk (one seq) in separate turns, in order, and a job without repeats in one', () => {
    const row = (seq: number, id: number): WireChange => ({ ...change(seq), pk: `{"id":${id}}`, chunkRow: true });
    const turns = retryTurns([row(5, 1), row(5, 2), change(6), row(5, 3), change(7)], [1, 2, 3, 4, 5]);
    expect(turns.map((turn) => [turn.changes.map((c) => `${c.seq}:${c.pk}`), turn.retryOf])).toEqual([
      [['5:{"id":1}', '6:{}', '7:{}'], [1, 3, 5]],
      [['5:{"id":2}'], [2]],
      [['5:{"id":3}'], [4]],
    ]);
    expect(retryTurns([change(1), change(2)], [10, 20])).toEqual([{ changes: [change(1), change(2)], retryOf: [10, 20] }]);
  });
});

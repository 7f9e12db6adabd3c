import { DeadLetterRecord } from '@tributary/control';
import { WireChange } from '@tributary/model';
import { chunkLetters, jobOfNote, retryingNote } from './retry-chunks';

function letter(id: number, table = 'items', size = 10): DeadLetterRecord {
  const change: WireChange = { seq: id * 10, table, op: 'insert', pk: '{"id":1}', before: null, after: 'x'.repeat(size), origin: null, ts: 0, schema: 'h' };
  return {
    id, routeId: 'r', seq: change.seq, table, op: 'insert', change, reason: 'no', code: null, status: 'open',
    attempts: 1, createdAt: new Date(0), resolvedAt: null, resolvedBy: null, resolutionNote: null,
  };
}

describe('chunkLetters', () => {
  it('bounds jobs by rows', () => {
    const chunks = chunkLetters([1, 2, 3, 4, 5].map((id) => letter(id)), 2, 1 << 20);
    expect(chunks.map((c) => c.map((l) => l.id))).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('bounds jobs by bytes, but always takes one letter', () => {
    const chunks = chunkLetters([letter(1, 'items', 5000), letter(2, 'items', 5000), letter(3, 'items', 10)], 100, 6000);
    expect(chunks.map((c) => c.map((l) => l.id))).toEqual([[1], [2, 3]]);
  });

  it('starts a new job when the table changes', () => {
    const chunks = chunkLetters([letter(1, 'a'), letter(2, 'b'), letter(3, 'b')], 100, 1 << 20);
    expect(chunks.map((c) => c.map((l) => l.id))).toEqual([[1], [2, 3]]);
  });
});

describe('retrying notes', () => {
  it('name their job', () => {
    expect(jobOfNote(retryingNote('r1-2-n2-t5-ab'))).toBe('r1-2-n2-t5-ab');
    expect(jobOfNote('applied at the target on retry')).toBeNull();
    expect(jobOfNote(null)).toBeNull();
  });
});

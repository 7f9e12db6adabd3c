import { RetryOutcome } from '@tributary/control';
import { WireChange } from '@tributary/model';
import { RetryJobData } from '@tributary/queue';

/** How one retried dead letter ended. */
export type RetryResult = 'applied' | 'superseded' | 'refused';

export interface LetterOutcome extends RetryOutcome {
  seq: number;
  outcome: RetryResult;
}

/**
 * Pairs a retry job's letters (`retryOf[i]` holds `changes[i]`) with what the
 * target did to each change, and the note the letter keeps as its record.
 */
export function retryOutcomes(data: Pick<RetryJobData, 'changes' | 'retryOf'>, refused: ReadonlySet<number>, superseded: ReadonlySet<number>): LetterOutcome[] {
  const ids = data.retryOf;
  return data.changes.flatMap((change, i) => {
    const id = ids[i];
    if (id === undefined) return [];
    const outcome: RetryResult = refused.has(change.seq) ? 'refused' : superseded.has(change.seq) ? 'superseded' : 'applied';
    const note =
      outcome === 'superseded'
        ? `superseded: the row already has a newer change than seq ${change.seq}; nothing written`
        : outcome === 'applied'
          ? `applied at the target on retry`
          : `refused again`;
    return [{ id, seq: change.seq, outcome, note }];
  });
}

/** A retry's changes (and their letters) in turns in which no seq appears twice, in order. */
export function retryTurns(changes: readonly WireChange[], retryOf: readonly number[]): Array<{ changes: WireChange[]; retryOf: number[] }> {
  const turns: Array<{ changes: WireChange[]; retryOf: number[]; seqs: Set<number> }> = [];
  changes.forEach((change, i) => {
    let turn = turns.find((t) => !t.seqs.has(change.seq));
    if (!turn) turns.push((turn = { changes: [], retryOf: [], seqs: new Set() }));
    turn.changes.push(change);
    turn.retryOf.push(retryOf[i]);
    turn.seqs.add(change.seq);
  });
  return turns.map(({ changes, retryOf }) => ({ changes, retryOf }));
}

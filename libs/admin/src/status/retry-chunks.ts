import { DeadLetterRecord } from '@tributary/control';
import { boundedRuns } from '@tributary/queue';

/**
 * Splits letters (in seq order) into retry jobs bounded like target batches
 * (invariant 7: rows and bytes), one source table per job.
 */
export function chunkLetters(letters: readonly DeadLetterRecord[], maxRows: number, maxBytes: number): DeadLetterRecord[][] {
  return boundedRuns(letters, (letter) => letter.change, { maxRows, maxBytes }, (previous, next) => previous.change.table !== next.change.table);
}

const NOTE_PREFIX = 'retry job ';

/** The note a retrying letter carries: names its job, so a lost job can be told from a slow one. */
export function retryingNote(jobId: string): string {
  return NOTE_PREFIX + jobId;
}

export function jobOfNote(note: string | null): string | null {
  return note?.startsWith(NOTE_PREFIX) ? note.slice(NOTE_PREFIX.length) : null;
}

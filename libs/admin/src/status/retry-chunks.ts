import { DeadLetterRecord } from '@tributary/control';
import { wireChangeBytes } from '@tributary/queue';

/**
 * Splits letters (in seq order) into retry jobs bounded like relay jobs
 * (invariant 7: rows and bytes), one source table per job.
 */
export function chunkLetters(letters: readonly DeadLetterRecord[], maxRows: number, maxBytes: number): DeadLetterRecord[][] {
  const chunks: DeadLetterRecord[][] = [];
  let chunk: DeadLetterRecord[] = [];
  let bytes = 0;
  for (const letter of letters) {
    const size = wireChangeBytes(letter.change);
    const full = chunk.length >= maxRows || bytes + size > maxBytes || (chunk.length > 0 && chunk[0].change.table !== letter.change.table);
    if (chunk.length > 0 && full) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(letter);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

const NOTE_PREFIX = 'retry job ';

/** The note a retrying letter carries: names its job, so a lost job can be told from a slow one. */
export function retryingNote(jobId: string): string {
  return NOTE_PREFIX + jobId;
}

export function jobOfNote(note: string | null): string | null {
  return note?.startsWith(NOTE_PREFIX) ? note.slice(NOTE_PREFIX.length) : null;
}

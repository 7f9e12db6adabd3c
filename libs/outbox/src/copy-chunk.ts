import { COPY_CHUNK_PK, COPY_CHUNK_SEPARATOR } from '@tributary/db';
import { WireChange } from '@tributary/model';

/** A copy chunk's payload is not what the copier writes: a bug or a hand-edited outbox, never skipped. */
export class CopyChunkError extends Error {
  constructor(seq: number, why: string) {
    super(`copy chunk at outbox seq ${seq} cannot be read: ${why}`);
    this.name = 'CopyChunkError';
  }
}

/** Whether an outbox row is a copy chunk (COPY_CHUNK_PK in @tributary/db) rather than one change. */
export function isCopyChunk(row: { pk: string }): boolean {
  return row.pk === COPY_CHUNK_PK;
}

/**
 * The rows of a copy chunk as single copy records: op insert, the key image
 * and full image texts the chunk carries, and the chunk's seq, origin, time
 * and schema.
 *
 * @throws CopyChunkError if the payload is not texts in pairs, each a JSON object.
 */
export function expandCopyChunk(chunk: WireChange, payload: string): WireChange[] {
  const texts = payload.split(COPY_CHUNK_SEPARATOR);
  if (texts.length % 2 !== 0) throw new CopyChunkError(chunk.seq, `${texts.length} texts, not key and row images in pairs`);
  const rows: WireChange[] = [];
  for (let i = 0; i < texts.length; i += 2) {
    const pk = texts[i];
    const after = texts[i + 1];
    // Cheap evidence that the texts are where they belong (the decoder checks the rest).
    if (!pk.startsWith('{') || !after.startsWith('{')) throw new CopyChunkError(chunk.seq, `entry ${i / 2} is not two JSON objects`);
    rows.push({ seq: chunk.seq, table: chunk.table, op: 'insert', pk, before: null, after, origin: chunk.origin, ts: chunk.ts, schema: chunk.schema, chunkRow: true });
  }
  return rows;
}

import { COPY_CHUNK_PK } from '@tributary/db';
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
 * @throws CopyChunkError if the payload is not a JSON array of texts in pairs.
 */
export function expandCopyChunk(chunk: WireChange, payload: string): WireChange[] {
  let texts: unknown;
  try {
    texts = JSON.parse(payload);
  } catch (error) {
    throw new CopyChunkError(chunk.seq, (error as Error).message);
  }
  if (!Array.isArray(texts) || texts.length % 2 !== 0) throw new CopyChunkError(chunk.seq, 'not an array of key and row images in pairs');
  const rows: WireChange[] = [];
  for (let i = 0; i < texts.length; i += 2) {
    const pk = texts[i] as unknown;
    const after = texts[i + 1] as unknown;
    if (typeof pk !== 'string' || typeof after !== 'string') throw new CopyChunkError(chunk.seq, `entry ${i / 2} is not two texts`);
    rows.push({ seq: chunk.seq, table: chunk.table, op: 'insert', pk, before: null, after, origin: chunk.origin, ts: chunk.ts, schema: chunk.schema, chunkRow: true });
  }
  return rows;
}

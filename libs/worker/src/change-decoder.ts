import { decodeImage, decodeKey, RowChange, TableSchema, WireChange } from '@tributary/model';

export interface DecodedRun {
  schemaHash: string;
  changes: Array<{ wire: WireChange; row: RowChange }>;
}

export interface UndecodableChange {
  wire: WireChange;
  reason: string;
}

/**
 * Decodes a job's wire changes into runs of one schema each (a table altered
 * mid-stream yields several runs, applied in order). A change whose image
 * cannot be decoded is returned apart, to become a dead letter with its reason.
 */
export function decodeChanges(
  changes: readonly WireChange[],
  schemaFor: (hash: string) => TableSchema,
): { runs: DecodedRun[]; undecodable: UndecodableChange[] } {
  const runs: DecodedRun[] = [];
  const undecodable: UndecodableChange[] = [];
  // A job's changes nearly always share one schema: look it up once per run, not per change.
  let lastHash: string | null = null;
  let lastSchema: TableSchema | null = null;
  for (const wire of changes) {
    if (wire.schema !== lastHash) {
      lastSchema = schemaFor(wire.schema);
      lastHash = wire.schema;
    }
    const schema = lastSchema!;
    let row: RowChange;
    try {
      row = {
        seq: wire.seq,
        op: wire.op,
        key: decodeKey(schema, wire.pk),
        before: decodeImage(schema, wire.before),
        after: decodeImage(schema, wire.after),
      };
    } catch (error) {
      undecodable.push({ wire, reason: `cannot decode change: ${(error as Error).message}` });
      continue;
    }
    const last = runs[runs.length - 1];
    if (last && last.schemaHash === wire.schema) last.changes.push({ wire, row });
    else runs.push({ schemaHash: wire.schema, changes: [{ wire, row }] });
  }
  return { runs, undecodable };
}

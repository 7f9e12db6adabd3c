import * as crypto from 'node:crypto';
import { DeadLetterInput } from '@tributary/control';
import { WireChange } from '@tributary/model';

/** The dead letter of a change a target (or a conflict policy) refused. */
export function deadLetterOf(routeId: string, wire: WireChange, reason: string, code: string | null): DeadLetterInput {
  // Rows of a copy chunk share its seq: their key tells their letters apart.
  const rowKey = wire.chunkRow ? crypto.hash('sha1', wire.pk) : '';
  return { routeId, seq: wire.seq, rowKey, table: wire.table, op: wire.op, change: wire, reason, code };
}

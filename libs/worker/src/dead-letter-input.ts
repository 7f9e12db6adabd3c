import * as crypto from 'node:crypto';
import { DeadLetterInput } from '@tributary/control';
import { WireChange } from '@tributary/model';

/**
 * The dead letter of a change a target (or a conflict policy) refused, under
 * the route's table name now (`table`): a change captured before a table
 * rename carries the old name, which a retry would no longer route.
 */
export function deadLetterOf(routeId: string, table: string, wire: WireChange, reason: string, code: string | null): DeadLetterInput {
  // Rows of a copy chunk share its seq: their key tells their letters apart.
  const rowKey = wire.chunkRow ? crypto.hash('sha1', wire.pk) : '';
  return { routeId, seq: wire.seq, rowKey, table, op: wire.op, change: wire, reason, code };
}

/**
 * The per-key seq guard of the NATS target (invariant 4, kept in the stream
 * itself): a key has one subject, and a change is published on it only if
 * its seq is newer than the seq of the subject's last event (or equal, when
 * dead letters are retried). The publish carries the subject's last stream
 * sequence as `Nats-Expected-Last-Subject-Sequence`, so the server refuses
 * it if anything was stored on the subject since the guard looked: the
 * decision and the write are one step, as a SQL target's version lock makes
 * them. Pure; the I/O is in NatsTarget.
 */

/** What a subject holds: the stream sequence of its last message (0: none) and that event's seq (null: none, or not an event). */
export interface SubjectVersion {
  streamSeq: number;
  seq: number | null;
}

export const EMPTY_SUBJECT: SubjectVersion = { streamSeq: 0, seq: null };

/** Whether a change at `seq` goes on a subject holding `last`: newer, or equal with `reapply`. */
export function shouldPublish(last: SubjectVersion, seq: number, reapply: boolean): boolean {
  if (last.seq === null) return true;
  return reapply ? seq >= last.seq : seq > last.seq;
}

/**
 * The de-duplication id (`Nats-Msg-Id`) of an event published on top of
 * `last`: its event id, so a publish repeated within the duplicate window
 * (an ack lost, a batch retried) is stored once. A retried dead letter at
 * the very seq the subject holds is published again on purpose (its image
 * may have been fixed), so its id names the message it follows: the plain
 * id would be dropped as a duplicate of the stored event.
 */
export function messageId(eventId: string, last: SubjectVersion | undefined, seq: number): string {
  return last && last.seq === seq ? `${eventId}:r${last.streamSeq}` : eventId;
}

/** The `seq` of a stored message's payload, or null if it is not a change event. */
export function eventSeqOf(payload: Uint8Array): number | null {
  try {
    const parsed = JSON.parse(Buffer.from(payload).toString('utf8')) as { seq?: unknown };
    return typeof parsed?.seq === 'number' && Number.isFinite(parsed.seq) ? parsed.seq : null;
  } catch {
    return null;
  }
}

/**
 * The last version this process saw per subject, so steady publishing needs
 * no read before each write: the publish's expectation catches a stale
 * entry (another writer, another process) and the target then reads the
 * subject. Bounded: the oldest entries are forgotten (a forgotten subject
 * costs one refused publish and one read).
 */
export class SubjectVersions {
  private readonly entries = new Map<string, SubjectVersion>();

  constructor(private readonly capacity: number) {}

  get(subject: string): SubjectVersion | undefined {
    return this.entries.get(subject);
  }

  /** Records `version` unless a newer one (by stream sequence) is known: acks may come back in any order. */
  set(subject: string, version: SubjectVersion): void {
    const known = this.entries.get(subject);
    if (known && known.streamSeq > version.streamSeq) return;
    this.entries.delete(subject); // re-inserted last: the Map's order is the eviction order
    this.entries.set(subject, version);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Forgets a subject whose state is unknown (a publish whose outcome was not seen). */
  forget(subject: string): void {
    this.entries.delete(subject);
  }

  clear(): void {
    this.entries.clear();
  }
}

import { ProbeResult } from '@tributary/outbox';

/**
 * A run of missing seqs between rows the relay has read: ids taken by
 * transactions still open, or by transactions that rolled back.
 */
export interface Hole {
  from: number;
  to: number;
  /** When the relay first saw this gap (ms). */
  firstSeenAt: number;
  lastProbeAt: number | null;
  /** Consecutive probes that found the range unlocked and empty. */
  emptyProbes: number;
  firstEmptyAt: number | null;
}

export interface Range {
  from: number;
  to: number;
}

export interface HoleTrackerOptions {
  /** Two empty probes at least this far apart close a hole (an id is taken a moment before its row exists). */
  closeDelayMs: number;
  /** Last resort: a hole still undecided after this long is closed, logged and counted. */
  timeoutMs: number;
}

export type ProbeOutcome = 'locked' | 'filled' | 'empty' | 'closed';

/**
 * Tracks the holes above the relay's watermark (invariant 2). Pure: the relay
 * feeds it reads and probe results and asks what to do next. Rows past a hole
 * are delivered at once; only the watermark (what purge and a rewind trust)
 * waits for the hole. Changes of one row cannot overtake each other across a
 * hole, because the open transaction holds that row's lock at the source.
 */
export class HoleTracker {
  private list: Hole[];

  constructor(
    initial: Hole[],
    private readonly options: HoleTrackerOptions,
  ) {
    this.list = [...initial].sort((a, b) => a.from - b.from);
  }

  get holes(): readonly Hole[] {
    return this.list;
  }

  ranges(): Range[] {
    return this.list.map(({ from, to }) => ({ from, to }));
  }

  /** Records the gaps between `previousHigh` and the ascending `seqs` just read past it. */
  noteRead(previousHigh: number, seqs: readonly number[], now: number): void {
    let expected = previousHigh + 1;
    for (const seq of seqs) {
      if (seq > expected) this.list.push(newHole(expected, seq - 1, now));
      expected = Math.max(expected, seq + 1);
    }
  }

  /** Removes ids that turned up as committed rows, splitting holes around them. */
  fill(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    const sorted = [...seqs].sort((a, b) => a - b);
    const next: Hole[] = [];
    for (const hole of this.list) {
      let start = hole.from;
      let changed = false;
      for (const seq of sorted) {
        if (seq < hole.from || seq > hole.to) continue;
        changed = true;
        if (seq > start) next.push({ ...hole, from: start, to: seq - 1 });
        start = seq + 1;
      }
      if (!changed) next.push(hole);
      else if (start <= hole.to) next.push({ ...hole, from: start, to: hole.to });
    }
    this.list = next;
  }

  /** Holes old enough to probe, oldest first. */
  dueForProbe(now: number, limit: number): Hole[] {
    const delay = this.options.closeDelayMs;
    return this.list
      .filter((hole) => now - hole.firstSeenAt >= delay && (hole.lastProbeAt === null || now - hole.lastProbeAt >= delay))
      .slice(0, limit);
  }

  /** Applies a locking probe's answer for `hole` (an object returned by dueForProbe). */
  recordProbe(hole: Hole, result: ProbeResult, now: number): ProbeOutcome {
    const index = this.list.indexOf(hole);
    if (index < 0) return 'filled';
    if (result.kind === 'locked') {
      // An open transaction owns some id here. Split to find which, so the
      // rolled-back neighbours can still close.
      const reset = { lastProbeAt: now, emptyProbes: 0, firstEmptyAt: null };
      if (hole.from < hole.to) {
        const middle = Math.floor((hole.from + hole.to) / 2);
        this.list.splice(index, 1, { ...hole, ...reset, to: middle }, { ...hole, ...reset, from: middle + 1 });
      } else {
        this.list[index] = { ...hole, ...reset };
      }
      return 'locked';
    }
    if (result.present.length > 0) {
      // Committed since the last read: the next fill delivers them.
      this.list[index] = { ...hole, lastProbeAt: now };
      return 'filled';
    }
    const firstEmptyAt = hole.firstEmptyAt ?? now;
    const emptyProbes = hole.emptyProbes + 1;
    if (emptyProbes >= 2 && now - firstEmptyAt >= this.options.closeDelayMs) {
      this.list.splice(index, 1);
      return 'closed';
    }
    this.list[index] = { ...hole, lastProbeAt: now, emptyProbes, firstEmptyAt };
    return 'empty';
  }

  /** Removes and returns holes older than the timeout (the last resort of invariant 2). */
  expire(now: number): Hole[] {
    const expired = this.list.filter((hole) => now - hole.firstSeenAt >= this.options.timeoutMs);
    if (expired.length > 0) this.list = this.list.filter((hole) => !expired.includes(hole));
    return expired;
  }

  /** Every seq <= watermark is delivered or known never to exist. */
  watermark(high: number): number {
    return this.list.length === 0 ? high : Math.min(high, this.list[0].from - 1);
  }

  /** Number of missing ids tracked. */
  size(): number {
    return this.list.reduce((sum, hole) => sum + hole.to - hole.from + 1, 0);
  }
}

function newHole(from: number, to: number, now: number): Hole {
  return { from, to, firstSeenAt: now, lastProbeAt: null, emptyProbes: 0, firstEmptyAt: null };
}

/** Parses holes saved in the relay checkpoint; anything malformed is a bug worth stopping for. */
export function parseHoles(value: unknown): Hole[] {
  if (!Array.isArray(value)) throw new Error('relay checkpoint: holes is not an array');
  return value.map((item) => {
    const hole = item as Partial<Hole>;
    if (!Number.isSafeInteger(hole.from) || !Number.isSafeInteger(hole.to) || (hole.from as number) > (hole.to as number)) {
      throw new Error(`relay checkpoint: bad hole ${JSON.stringify(item)}`);
    }
    return newHole(hole.from as number, hole.to as number, Number(hole.firstSeenAt ?? Date.now()));
  });
}

/** What one applied batch adds to a route's progress in the control schema. */
export interface AppliedProgress {
  watermark: number;
  maxSeq: number;
  count: number;
  lastChangeTs: number | null;
  /** A range job's coverage, once its last batch committed (RangeJobData.coveredMicros). */
  coveredMicros?: number | null;
}

/**
 * Mirrors a route's applied progress into the control schema off the apply
 * path: one write in flight at a time, and what batches apply meanwhile is
 * merged into the next write (highest watermark and seq, counts summed). The
 * target's own checkpoint is the truth (invariant 3); a mirror that lags only
 * makes a restarting relay re-send what apply then skips. A failed write is
 * kept to be merged into the next one and reported once by `check`, so the
 * batch at hand is retried and the route shows the error.
 */
export class ProgressMirror {
  private pending: AppliedProgress | null = null;
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(private readonly write: (progress: AppliedProgress) => Promise<void>) {}

  add(progress: AppliedProgress): void {
    this.pending = this.pending ? merge(this.pending, progress) : progress;
    this.flushing ??= this.flush();
  }

  /** Throws the failure of a write since the last check, once. */
  check(): void {
    const failure = this.failure;
    this.failure = null;
    if (failure !== null) throw failure;
  }

  /** Waits until everything added so far is written (or failed), then checks. */
  async settle(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.check();
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending) {
        const progress = this.pending;
        this.pending = null;
        try {
          await this.write(progress);
        } catch (error) {
          this.failure = error;
          this.pending = this.pending ? merge(progress, this.pending) : progress;
          return;
        }
      }
    } finally {
      this.flushing = null;
    }
  }
}

function merge(a: AppliedProgress, b: AppliedProgress): AppliedProgress {
  const covered = Math.max(a.coveredMicros ?? 0, b.coveredMicros ?? 0);
  return {
    watermark: Math.max(a.watermark, b.watermark),
    maxSeq: Math.max(a.maxSeq, b.maxSeq),
    count: a.count + b.count,
    lastChangeTs: b.lastChangeTs ?? a.lastChangeTs,
    ...(covered > 0 ? { coveredMicros: covered } : {}),
  };
}

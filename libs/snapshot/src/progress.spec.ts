import { progressLine, snapshotProgress } from './progress';

describe('snapshot progress', () => {
  const startedAt = new Date(1_000_000);
  it('estimates the time left from the rate so far', () => {
    const p = snapshotProgress({ status: 'copying', rowsCopied: 25_000, rowsEstimated: 100_000, startedAt }, 1_000_000 + 5_000);
    expect(p).toEqual({ rowsCopied: 25_000, rowsEstimated: 100_000, fraction: 0.25, etaSeconds: 15 });
  });

  it('never reports more than all rows, and is complete once copied', () => {
    expect(snapshotProgress({ status: 'copying', rowsCopied: 120, rowsEstimated: 100, startedAt }, 1_001_000).fraction).toBe(1);
    expect(snapshotProgress({ status: 'catching_up', rowsCopied: 90, rowsEstimated: 100, startedAt }, 1_001_000)).toMatchObject({ fraction: 1, etaSeconds: 0 });
    expect(snapshotProgress({ status: 'pending', rowsCopied: 0, rowsEstimated: null, startedAt: null })).toMatchObject({ fraction: null, etaSeconds: null });
  });

  it('draws a bar', () => {
    expect(progressLine({ status: 'copying', rowsCopied: 45_000, rowsEstimated: 100_000, startedAt }, 1_000_000 + 9_000, 20)).toBe(
      '[#########...........] 45% 45,000/100,000 rows, about 11 s left',
    );
  });
});

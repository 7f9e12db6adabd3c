import { AppliedProgress, ProgressMirror } from './progress-mirror';

const progress = (watermark: number, count = 1, lastChangeTs: number | null = watermark * 10): AppliedProgress => ({ watermark, maxSeq: watermark, count, lastChangeTs });

describe('ProgressMirror', () => {
  it('writes one at a time and merges what arrives meanwhile into the next write', async () => {
    const written: AppliedProgress[] = [];
    let release: () => void = () => undefined;
    const mirror = new ProgressMirror(async (p) => {
      written.push(p);
      if (written.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    mirror.add(progress(10));
    mirror.add(progress(20, 2));
    mirror.add(progress(15, 3, null)); // a retry: older watermark, no change time
    expect(written).toEqual([progress(10)]);
    release();
    await mirror.settle();
    expect(written).toEqual([progress(10), { watermark: 20, maxSeq: 20, count: 5, lastChangeTs: 200 }]);
  });

  it('keeps a failed write for the next one and reports the failure once', async () => {
    const written: AppliedProgress[] = [];
    let fail = true;
    const mirror = new ProgressMirror(async (p) => {
      if (fail) throw new Error('control database down');
      written.push(p);
    });
    mirror.add(progress(10));
    await expect(mirror.settle()).rejects.toThrow('control database down');
    expect(() => mirror.check()).not.toThrow();
    fail = false;
    mirror.add(progress(11));
    await mirror.settle();
    expect(written).toEqual([{ watermark: 11, maxSeq: 11, count: 2, lastChangeTs: 110 }]);
  });
});

import { outcome } from './run';
import { RepairResult } from './repair';
import { VerifyResult } from './verifier';

const verify = (missing: number, extra: number, different: number): VerifyResult =>
  ({ sourceRows: 10, targetRows: 10, missing, extra, different, settled: true, ignoredColumns: [], differences: [], repairKeys: [] }) as unknown as VerifyResult;

describe('outcome of a repair', () => {
  it('counts as repaired only the differences the second verify no longer finds', () => {
    const before = verify(1, 1, 2);
    const result: RepairResult = { status: 'differs', before, after: verify(0, 0, 1), resent: 4 };
    const stored = outcome('repair', result);
    expect(stored).toMatchObject({ status: 'differs', missing: 1, extra: 1, different: 2, repaired: 3 });
    expect(stored.sample).toMatchObject({ resent: 4, after: { missing: 0, extra: 0, different: 1 } });
  });

  it('says nothing was repaired when every re-sent row still differs', () => {
    const before = verify(0, 0, 1);
    expect(outcome('repair', { status: 'differs', before, after: verify(0, 0, 1), resent: 1 })).toMatchObject({ status: 'differs', repaired: 0 });
  });

  it('counts everything once the target matches, and nothing for a target that matched already', () => {
    const before = verify(2, 0, 1);
    expect(outcome('repair', { status: 'repaired', before, after: verify(0, 0, 0), resent: 3 })).toMatchObject({ repaired: 3 });
    const clean = verify(0, 0, 0);
    expect(outcome('repair', { status: 'matched', before: clean, after: clean, resent: 0 })).toMatchObject({ status: 'matched', repaired: 0 });
  });
});

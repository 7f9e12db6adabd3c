import { FREE_FAILURES, MAX_BLOCK_MS, WrongTokenLimiter } from './wrong-token-limiter';

describe('WrongTokenLimiter', () => {
  it(`lets ${FREE_FAILURES} wrong tokens through, then blocks the address for 1 s, 2 s, 4 s … at most 60 s`, () => {
    const limiter = new WrongTokenLimiter();
    let now = 1_000_000;
    for (let i = 0; i < FREE_FAILURES; i++) limiter.failed('10.0.0.1', now);
    expect(limiter.blockedFor('10.0.0.1', now)).toBe(0);
    const blocks: number[] = [];
    for (let i = 0; i < 9; i++) {
      limiter.failed('10.0.0.1', now);
      blocks.push(limiter.blockedFor('10.0.0.1', now));
      now += blocks[blocks.length - 1];
    }
    expect(blocks).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, MAX_BLOCK_MS, MAX_BLOCK_MS, MAX_BLOCK_MS]);
  });

  it('blocks only the guessing address, and a right token clears it', () => {
    const limiter = new WrongTokenLimiter();
    const now = 5_000;
    for (let i = 0; i <= FREE_FAILURES; i++) limiter.failed('attacker', now);
    expect(limiter.blockedFor('attacker', now)).toBeGreaterThan(0);
    expect(limiter.blockedFor('operator', now)).toBe(0);
    limiter.succeeded('attacker');
    expect(limiter.blockedFor('attacker', now)).toBe(0);
  });

  it('forgets an address that has been quiet for a quarter of an hour', () => {
    const limiter = new WrongTokenLimiter();
    for (let i = 0; i < FREE_FAILURES; i++) limiter.failed('a', 0);
    limiter.failed('a', 16 * 60_000); // counted afresh: the first of a new series
    expect(limiter.blockedFor('a', 16 * 60_000)).toBe(0);
  });

  it('tracks a bounded number of addresses, forgetting the oldest first', () => {
    const limiter = new WrongTokenLimiter();
    for (let i = 0; i <= FREE_FAILURES; i++) limiter.failed('first', 0);
    for (let i = 0; i < 10_000; i++) limiter.failed(`spray-${i}`, 0);
    expect(limiter.blockedFor('first', 0)).toBe(0);
    expect(limiter.blockedFor('spray-9999', 0)).toBe(0); // one failure: not blocked, but tracked
  });
});

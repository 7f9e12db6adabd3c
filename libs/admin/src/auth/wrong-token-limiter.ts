/**
 * Slows down guessing the admin token (it answered ~400 wrong tokens a
 * second). Per client address: the first FREE_FAILURES wrong tokens cost
 * nothing, then each further one blocks that address for twice as long as
 * the one before, up to MAX_BLOCK_MS. A right token clears the address, and
 * a quiet address is forgotten after FORGET_MS, so the rightful user, typing
 * from another address or a minute later, is never locked out for long.
 *
 * In memory, per admin process (a restart forgets): enough against a script
 * hammering one admin; the token's length is the real defence (a generated
 * one is 32 random characters). At most MAX_ADDRESSES are tracked, so a
 * spray from many addresses cannot grow memory without bound.
 */
export const FREE_FAILURES = 5;
export const MAX_BLOCK_MS = 60_000;
const FIRST_BLOCK_MS = 1_000;
const FORGET_MS = 15 * 60_000;
const MAX_ADDRESSES = 10_000;

interface Failures {
  count: number;
  blockedUntil: number;
  lastAt: number;
}

export class WrongTokenLimiter {
  private readonly byAddress = new Map<string, Failures>();

  /** Milliseconds `address` must still wait before its next try counts, or 0. */
  blockedFor(address: string, nowMs = Date.now()): number {
    const entry = this.live(address, nowMs);
    return entry ? Math.max(0, entry.blockedUntil - nowMs) : 0;
  }

  /** A wrong token from `address`: may block it. */
  failed(address: string, nowMs = Date.now()): void {
    const entry = this.live(address, nowMs) ?? { count: 0, blockedUntil: 0, lastAt: nowMs };
    entry.count += 1;
    entry.lastAt = nowMs;
    if (entry.count > FREE_FAILURES) {
      entry.blockedUntil = nowMs + Math.min(MAX_BLOCK_MS, FIRST_BLOCK_MS * 2 ** Math.min(entry.count - FREE_FAILURES - 1, 16));
    }
    // Re-inserted last: the map's order is least recently failed first, the one to forget when full.
    this.byAddress.delete(address);
    this.byAddress.set(address, entry);
    if (this.byAddress.size > MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value!);
  }

  /** The right token from `address`: its failures are forgotten. */
  succeeded(address: string): void {
    this.byAddress.delete(address);
  }

  private live(address: string, nowMs: number): Failures | null {
    const entry = this.byAddress.get(address);
    if (!entry) return null;
    if (nowMs - entry.lastAt > FORGET_MS && nowMs >= entry.blockedUntil) {
      this.byAddress.delete(address);
      return null;
    }
    return entry;
  }
}

/**
 * Waits for `work` at most `ms`: true if it settled (either way) in time.
 * For work that must not hold a shutdown up (a Redis command waits for Redis
 * as long as it is away); `work` goes on, unobserved, if it did not.
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = work.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

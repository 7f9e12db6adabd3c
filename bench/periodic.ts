import { Cleanup, note, sleep } from './support';

/**
 * Runs `sample` every `everyMs` (measured from the start of one run to the
 * next, so a slow sample does not stretch the spacing) until the returned
 * stop function is called; stop cuts the wait short and waits only for the
 * sample in flight. A failed sample is logged and the loop goes on: a
 * monitor that dies silently would leave a gap that looks like a quiet
 * system. `cleanup` stops it at the latest, before anything it reads that
 * was made earlier is removed, also when the run fails (stopping twice is
 * harmless).
 */
export function every(everyMs: number, sample: () => Promise<void> | void, cleanup: Cleanup): () => Promise<void> {
  let stopped = false;
  let wake: () => void = () => undefined;
  const stopping = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      try {
        await sample();
      } catch (error) {
        note(`sampling failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      const rest = everyMs - (performance.now() - started);
      if (rest > 0 && !stopped) await Promise.race([sleep(rest), stopping]);
    }
  })();
  const stop = async () => {
    stopped = true;
    wake();
    await loop;
  };
  cleanup.add('periodic sampling', stop);
  return stop;
}

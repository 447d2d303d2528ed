/**
 * Time as the SDK sees it: proofs and assertions are stamped with `now()`, and every wait
 * (between polls, before a retry) goes through `sleep`. The default is the system clock; tests
 * inject one that shares a registry's simulated time.
 */
export interface Clock {
  now(): Date;
  /** Resolves after `ms` milliseconds; rejects with `signal.reason` once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Real time and `setTimeout`. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};

import type { Clock } from "../../src/clock.js";

/**
 * Simulated time shared by the registry, the verifier and the SDK: real time plus an offset.
 * `sleep` does not wait; it moves the offset forward (by `ms × pace`, so a test can make the
 * SDK poll "too early" with a pace below 1) and records the wait.
 */
export interface TestClock extends Clock {
  /** Every wait the SDK asked for, in milliseconds. */
  readonly sleeps: number[];
  advance(seconds: number): void;
  /** How far simulated time moves per millisecond slept; default 1. */
  pace: number;
  /** Awaited at the start of every sleep (its index in `sleeps`), to hold the SDK at a point. */
  onSleep: ((index: number, ms: number) => Promise<void>) | undefined;
}

export function createTestClock(): TestClock {
  let offsetMs = 0;
  const clock: TestClock = {
    sleeps: [],
    pace: 1,
    onSleep: undefined,
    now: () => new Date(Date.now() + offsetMs),
    advance(seconds) {
      offsetMs += seconds * 1000;
    },
    async sleep(ms, signal) {
      signal?.throwIfAborted();
      clock.sleeps.push(ms);
      await clock.onSleep?.(clock.sleeps.length - 1, ms);
      offsetMs += ms * clock.pace;
      // Let other work (a concurrent request, an abort) run, as a real wait would.
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    },
  };
  return clock;
}

import { setTimeout as sleep } from "node:timers/promises";

/** The time a contract suite runs on: frozen and stepped for memory adapters, real for Redis. */
export interface TestClock {
  now(): Date;
  /** Lets `ms` pass. */
  advance(ms: number): Promise<void>;
}

/** A frozen clock that moves only when advanced. */
export function createFrozenClock(start = new Date("2030-01-01T00:00:00.000Z")): TestClock {
  let nowMs = start.getTime();
  return {
    now: () => new Date(nowMs),
    async advance(ms) {
      nowMs += ms;
    },
  };
}

/** The real clock: Redis expires keys by its own, so its suites wait for real. */
export const systemClock: TestClock = {
  now: () => new Date(),
  advance: (ms) => sleep(ms),
};

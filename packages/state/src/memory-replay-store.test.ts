import { describe, expect, it } from "vitest";
import { createMemoryReplayStore } from "./memory-replay-store.js";
import { isStateError } from "./state-error.js";
import { createFrozenClock } from "./test-clock.test-support.js";

describe("createMemoryReplayStore, when full", () => {
  it("refuses new marks rather than forget a live one, and recovers as marks expire", async () => {
    const clock = createFrozenClock();
    const store = createMemoryReplayStore({ now: clock.now, maxEntries: 100 });
    const inMs = (ms: number) => new Date(clock.now().getTime() + ms);
    for (let i = 0; i < 100; i += 1)
      expect(await store.markUsed(`jti-${i}`, inMs(1000))).toBe(true);

    await expect(store.markUsed("jti-new", inMs(1000))).rejects.toSatisfy((error) =>
      isStateError(error, "ERR_STATE_CAPACITY_EXCEEDED"),
    );
    // Every live mark is still remembered: none of them can be replayed.
    for (let i = 0; i < 100; i += 1)
      expect(await store.markUsed(`jti-${i}`, inMs(1000))).toBe(false);

    await clock.advance(1000);
    expect(await store.markUsed("jti-new", inMs(1000))).toBe(true);
  });
});

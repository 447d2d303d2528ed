import { randomUUID } from "node:crypto";
import { beforeEach, expect, it } from "vitest";
import type { ReplayStore } from "./replay-store.js";
import type { TestClock } from "./test-clock.test-support.js";

export interface ReplayStoreHarness {
  store: ReplayStore;
  clock: TestClock;
}

/** The behaviour every {@link ReplayStore} adapter must show; call inside a `describe`. */
export function testReplayStoreContract(setup: () => Promise<ReplayStoreHarness>): void {
  let store: ReplayStore;
  let clock: TestClock;
  const inMs = (ms: number) => new Date(clock.now().getTime() + ms);

  beforeEach(async () => {
    ({ store, clock } = await setup());
  });

  it("marks a key the first time and refuses it while the mark is live", async () => {
    const key = `jti-${randomUUID()}`;
    expect(await store.markUsed(key, inMs(60_000))).toBe(true);
    expect(await store.markUsed(key, inMs(60_000))).toBe(false);
    expect(await store.markUsed(key, inMs(120_000))).toBe(false);
  });

  it("keeps keys apart", async () => {
    const key = `jti-${randomUUID()}`;
    expect(await store.markUsed(`${key}:a`, inMs(60_000))).toBe(true);
    expect(await store.markUsed(`${key}:b`, inMs(60_000))).toBe(true);
  });

  it("accepts a key again once its mark has expired", async () => {
    const key = `jti-${randomUUID()}`;
    expect(await store.markUsed(key, inMs(200))).toBe(true);
    expect(await store.markUsed(key, inMs(200))).toBe(false);
    await clock.advance(300);
    expect(await store.markUsed(key, inMs(200))).toBe(true);
    expect(await store.markUsed(key, inMs(200))).toBe(false);
  });

  it("keeps no mark whose expiry has already passed", async () => {
    const key = `jti-${randomUUID()}`;
    const past = inMs(-3_600_000);
    expect(await store.markUsed(key, past)).toBe(true);
    expect(await store.markUsed(key, past)).toBe(true);
    expect(await store.markUsed(key, inMs(60_000))).toBe(true);
    expect(await store.markUsed(key, past)).toBe(false);
  });

  it("lets exactly one of 50 concurrent marks of one key through", async () => {
    const key = `jti-${randomUUID()}`;
    const expiresAt = inMs(60_000);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.markUsed(key, expiresAt)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("refuses bad arguments with TypeError", async () => {
    await expect(store.markUsed("", inMs(60_000))).rejects.toThrow(TypeError);
    await expect(store.markUsed("k", new Date(Number.NaN))).rejects.toThrow(TypeError);
    await expect(store.markUsed("k", 1 as unknown as Date)).rejects.toThrow(TypeError);
  });
}

import { randomUUID } from "node:crypto";
import { beforeEach, expect, it } from "vitest";
import type { AdmissionRequest, AdmissionStore } from "./admission-store.js";
import type { QuotaEntry } from "./quota-store.js";
import type { TestClock } from "./test-clock.test-support.js";

export interface AdmissionStoreHarness {
  store: AdmissionStore;
  /** Another replica on the same marks and counters: a second Redis connection, or the same store. */
  peer: AdmissionStore;
  clock: TestClock;
}

/**
 * The behaviour every {@link AdmissionStore} adapter must show beyond what the replay and quota
 * contracts (run on its views, see admission-store.test.ts) prove; call inside a `describe`.
 */
export function testAdmissionStoreContract(setup: () => Promise<AdmissionStoreHarness>): void {
  let store: AdmissionStore;
  let peer: AdmissionStore;
  let clock: TestClock;
  let grant: string;
  const inMs = (ms: number) => new Date(clock.now().getTime() + ms);
  const entry = (name: string, increment: number, limit: number): QuotaEntry => ({
    key: `${grant}:${name}`,
    increment,
    limit,
    expiresAt: inMs(60_000),
  });
  const admission = (
    replayKey: string,
    quotas: QuotaEntry[],
    dryRun = false,
  ): AdmissionRequest => ({ replayKey, replayExpiresAt: inMs(60_000), quotas, dryRun });
  /** A counter's value, read by admitting a fresh value on a dry run that adds nothing. */
  const counterValue = async (name: string): Promise<number> => {
    const result = await store.admit(admission(randomUUID(), [entry(name, 0, 0)], true));
    return result.replayed ? Number.NaN : (result.before[0] ?? Number.NaN);
  };

  beforeEach(async () => {
    ({ store, peer, clock } = await setup());
    grant = `grant:${randomUUID()}`;
  });

  it("marks a fresh value and counts it; refuses its replay without counting anything", async () => {
    const jti = `dpop:${randomUUID()}`;
    const quotas = [entry("rate", 1, 10), entry("spend", 250, 1000)];
    expect(await store.admit(admission(jti, quotas))).toEqual({
      replayed: false,
      withinLimits: true,
      before: [0, 0],
    });
    expect(await store.admit(admission(jti, quotas))).toEqual({ replayed: true });
    expect(await peer.admit(admission(jti, quotas))).toEqual({ replayed: true });
    expect([await counterValue("rate"), await counterValue("spend")]).toEqual([1, 250]);
  });

  it("keeps the mark when a counter refuses, and adds to none of them", async () => {
    await store.admit(admission(randomUUID(), [entry("burst", 3, 3)]));
    const jti = `dpop:${randomUUID()}`;
    const quotas = [entry("rate", 1, 10), entry("burst", 1, 3)];
    expect(await store.admit(admission(jti, quotas))).toEqual({
      replayed: false,
      withinLimits: false,
      before: [0, 3],
    });
    // The proof was presented: it may not be presented again, even once the limit allows it.
    expect(await peer.admit(admission(jti, [entry("rate", 1, 10)]))).toEqual({ replayed: true });
    expect([await counterValue("rate"), await counterValue("burst")]).toEqual([0, 3]);
  });

  it("marks the value on a dry run but counts nothing", async () => {
    const jti = `dpop:${randomUUID()}`;
    expect(await store.admit(admission(jti, [entry("spend", 700, 1000)], true))).toEqual({
      replayed: false,
      withinLimits: true,
      before: [0],
    });
    expect(await store.admit(admission(jti, [entry("spend", 700, 1000)]))).toEqual({
      replayed: true,
    });
    expect(await counterValue("spend")).toBe(0);
  });

  it("marks a value with no counters at all", async () => {
    const jti = `dpop:${randomUUID()}`;
    expect(await store.admit(admission(jti, []))).toEqual({
      replayed: false,
      withinLimits: true,
      before: [],
    });
    expect(await peer.admit(admission(jti, []))).toEqual({ replayed: true });
  });

  it("of 4 × N concurrent admissions on two replicas, each value twice, allows exactly N", async () => {
    const values = Array.from({ length: 40 }, () => `dpop:${randomUUID()}`);
    const calls = values.flatMap((jti) => [jti, jti]);
    const results = await Promise.all(
      calls.map((jti, i) =>
        (i % 2 === 0 ? store : peer).admit(
          admission(jti, [entry("rate", 1, 10), entry("requests", 1, 1_000_000)]),
        ),
      ),
    );
    // Each value is admitted once and replayed once, whichever replica saw it first.
    for (let i = 0; i < calls.length; i += 2) {
      expect([results[i]?.replayed, results[i + 1]?.replayed].sort()).toEqual([false, true]);
    }
    const fresh = results.filter((result) => !result.replayed);
    const allowed = fresh.filter((result) => result.withinLimits);
    expect(allowed).toHaveLength(10);
    expect(allowed.map((result) => result.before[0]).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
      Array.from({ length: 10 }, (_, i) => i),
    );
    // Neither refusals nor replays counted, on the other counter either.
    expect(await counterValue("requests")).toBe(10);
  });

  it("refuses bad arguments with TypeError, marking nothing", async () => {
    const jti = `dpop:${randomUUID()}`;
    const good = admission(jti, [entry("rate", 1, 10)]);
    const bad: unknown[] = [
      null,
      { ...good, replayKey: "" },
      { ...good, replayKey: 7 },
      { ...good, replayExpiresAt: new Date(Number.NaN) },
      { ...good, replayExpiresAt: Date.now() + 60_000 },
      { ...good, quotas: "rate" },
      { ...good, quotas: [null] },
      { ...good, quotas: [{ ...entry("rate", 1, 10), increment: -1 }] },
      { ...good, quotas: [entry("rate", 1, 10), entry("rate", 2, 10)] },
      { ...good, dryRun: "yes" },
    ];
    for (const request of bad) {
      await expect(
        store.admit(request as AdmissionRequest),
        JSON.stringify(request),
      ).rejects.toThrow(TypeError);
    }
    expect(await store.admit(good)).toMatchObject({ replayed: false, before: [0] });
  });
}

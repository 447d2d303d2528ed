import { randomUUID } from "node:crypto";
import { beforeEach, expect, it } from "vitest";
import type { QuotaEntry, QuotaResult, QuotaStore } from "./quota-store.js";
import type { TestClock } from "./test-clock.test-support.js";

export interface QuotaStoreHarness {
  store: QuotaStore;
  /** Another replica on the same counters: a second Redis connection, or the same memory store. */
  peer: QuotaStore;
  clock: TestClock;
}

/** The behaviour every {@link QuotaStore} adapter must show; call inside a `describe`. */
export function testQuotaStoreContract(setup: () => Promise<QuotaStoreHarness>): void {
  let store: QuotaStore;
  let peer: QuotaStore;
  let clock: TestClock;
  let grant: string;
  const inMs = (ms: number) => new Date(clock.now().getTime() + ms);
  /** An entry on this test's grant, its window ending in a minute unless told. */
  const entry = (name: string, increment: number, limit: number, expiresInMs = 60_000) => ({
    key: `${grant}:${name}`,
    increment,
    limit,
    expiresAt: inMs(expiresInMs),
  });
  /** A counter's value, read with a dry run that adds nothing. */
  const counterValue = async (name: string): Promise<number> =>
    (await store.consume([entry(name, 0, 0)], { dryRun: true })).before[0] ?? Number.NaN;

  beforeEach(async () => {
    ({ store, peer, clock } = await setup());
    grant = `grant:${randomUUID()}`;
  });

  it("reports each counter's value before the call, and adds every increment", async () => {
    const entries = [entry("rate", 1, 10), entry("spend", 250, 1000)];
    expect(await store.consume(entries)).toEqual({ withinLimits: true, before: [0, 0] });
    expect(await store.consume(entries)).toEqual({ withinLimits: true, before: [1, 250] });
    expect(await peer.consume([entries[1] as QuotaEntry, entries[0] as QuotaEntry])).toEqual({
      withinLimits: true,
      before: [500, 2],
    });
  });

  it("lets a counter reach its limit exactly, and never pass it", async () => {
    expect(await store.consume([entry("spend", 600, 1000)])).toMatchObject({ withinLimits: true });
    expect(await store.consume([entry("spend", 401, 1000)])).toEqual({
      withinLimits: false,
      before: [600],
    });
    expect(await store.consume([entry("spend", 400, 1000)])).toEqual({
      withinLimits: true,
      before: [600],
    });
    expect(await store.consume([entry("spend", 1, 1000)])).toEqual({
      withinLimits: false,
      before: [1000],
    });
    // Nothing more fits, but nothing is a fit: a zero increment checks without adding.
    expect(await store.consume([entry("spend", 0, 1000)])).toMatchObject({ withinLimits: true });
    expect(await store.consume([entry("other", 1, 0)])).toMatchObject({ withinLimits: false });
  });

  it("adds nothing at all when one counter is full", async () => {
    await store.consume([entry("burst", 3, 3)]);
    const refused = await store.consume([
      entry("rate", 1, 10),
      entry("burst", 1, 3),
      entry("spend", 5, 100),
    ]);
    expect(refused).toEqual({ withinLimits: false, before: [0, 3, 0] });
    expect([
      await counterValue("rate"),
      await counterValue("burst"),
      await counterValue("spend"),
    ]).toEqual([0, 3, 0]);
  });

  it("writes nothing on a dry run, whether the entries fit or not", async () => {
    const entries = [entry("rate", 1, 10), entry("spend", 700, 1000)];
    expect(await store.consume(entries, { dryRun: true })).toEqual({
      withinLimits: true,
      before: [0, 0],
    });
    expect(await store.consume(entries, { dryRun: true })).toEqual({
      withinLimits: true,
      before: [0, 0],
    });
    await store.consume(entries);
    expect(await store.consume(entries, { dryRun: true })).toEqual({
      withinLimits: false,
      before: [1, 700],
    });
    expect([await counterValue("rate"), await counterValue("spend")]).toEqual([1, 700]);
  });

  it("forgets a counter once its window ends", async () => {
    expect(await store.consume([entry("rate", 1, 1, 200)])).toMatchObject({ withinLimits: true });
    expect(await store.consume([entry("rate", 1, 1, 200)])).toEqual({
      withinLimits: false,
      before: [1],
    });
    await clock.advance(300);
    expect(await store.consume([entry("rate", 1, 1, 200)])).toEqual({
      withinLimits: true,
      before: [0],
    });
  });

  it("keeps no counter whose window has already ended", async () => {
    expect(await store.consume([entry("rate", 1, 1, -60_000)])).toMatchObject({
      withinLimits: true,
    });
    expect(await counterValue("rate")).toBe(0);
  });

  it("allows exactly the limit of 200 concurrent requests on two replicas", async () => {
    const entries = [entry("rate", 1, 50), entry("requests", 1, 1_000_000)];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? store : peer).consume(entries)),
    );
    const allowed = results.filter((result) => result.withinLimits);
    expect(allowed).toHaveLength(50);
    // Each allowed request saw a different count: the calls ran one after another.
    expect(allowed.map((result) => result.before[0] ?? -1).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(
      results.filter((result) => !result.withinLimits).map((result) => result.before[0]),
    ).toEqual(Array(150).fill(50));
    // The refused requests added nothing to the other counter either.
    expect(await counterValue("requests")).toBe(50);
  });

  it("never lets concurrent payments on two replicas pass a spend cap, by even one unit", async () => {
    const cap = 10_000;
    const amounts = Array.from({ length: 120 }, (_, i) => 1 + ((i * 7919) % 250));
    const results = await Promise.all(
      amounts.map((amount, i) =>
        (i % 2 === 0 ? store : peer).consume([entry("spend", amount, cap)]),
      ),
    );
    const paid = results
      .map((result, i) => ({ ...result, amount: amounts[i] ?? 0, before: result.before[0] ?? 0 }))
      .filter((payment) => payment.withinLimits)
      .sort((a, b) => a.before - b.before);
    // The accepted payments form one chain from 0: each saw the sum of those before it.
    let total = 0;
    for (const payment of paid) {
      expect(payment.before).toBe(total);
      total += payment.amount;
    }
    expect(total).toBeLessThanOrEqual(cap);
    expect(await counterValue("spend")).toBe(total);
    results.forEach((result, i) => {
      if (!result.withinLimits)
        expect((result.before[0] ?? 0) + (amounts[i] ?? 0)).toBeGreaterThan(cap);
    });
  });

  it("handles the largest safe integers exactly", async () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(await store.consume([entry("spend", max - 1, max)])).toMatchObject({
      withinLimits: true,
    });
    expect(await store.consume([entry("spend", 2, max)])).toEqual({
      withinLimits: false,
      before: [max - 1],
    });
    expect(await store.consume([entry("spend", 1, max)])).toEqual({
      withinLimits: true,
      before: [max - 1],
    });
    expect(await counterValue("spend")).toBe(max);
  });

  it("agrees with a plain model over a seeded random sequence of calls", async () => {
    const random = seededRandom(0x5eed);
    const pick = (n: number) => Math.floor(random() * n);
    const names = ["rate", "burst", "spend", "daily"];
    const model = new Map<string, number>();
    for (let step = 0; step < 300; step += 1) {
      const chosen = names.filter(() => random() < 0.5);
      const calls = (chosen.length > 0 ? chosen : ["rate"]).map((name) =>
        entry(name, pick(4), pick(12)),
      );
      const dryRun = random() < 0.2;
      const before = calls.map((call) => model.get(call.key) ?? 0);
      const withinLimits = calls.every(
        (call, i) => (before[i] ?? 0) + call.increment <= call.limit,
      );
      const expected: QuotaResult = { withinLimits, before };
      const replica = random() < 0.5 ? store : peer;
      expect(await replica.consume(calls, { dryRun }), `step ${step}`).toEqual(expected);
      if (withinLimits && !dryRun) {
        for (const [i, call] of calls.entries()) {
          model.set(call.key, (before[i] ?? 0) + call.increment);
        }
      }
    }
  });

  it("refuses bad arguments with TypeError", async () => {
    const good = entry("rate", 1, 10);
    const bad: unknown[] = [
      [],
      "rate",
      [null],
      [{ ...good, key: "" }],
      [good, { ...good, increment: 2 }],
      [{ ...good, increment: -1 }],
      [{ ...good, increment: 1.5 }],
      [{ ...good, increment: Number.NaN }],
      [{ ...good, increment: 2 ** 53 }],
      [{ ...good, increment: "1" }],
      [{ ...good, limit: -1 }],
      [{ ...good, limit: Number.POSITIVE_INFINITY }],
      [{ ...good, expiresAt: new Date(Number.NaN) }],
      [{ ...good, expiresAt: good.expiresAt.getTime() }],
    ];
    for (const entries of bad) {
      await expect(store.consume(entries as QuotaEntry[]), JSON.stringify(entries)).rejects.toThrow(
        TypeError,
      );
    }
    await expect(store.consume([good], { dryRun: "yes" as unknown as boolean })).rejects.toThrow(
      TypeError,
    );
    expect(await counterValue("rate")).toBe(0);
  });
}

/** A small deterministic generator (mulberry32): the same sequence on every run and adapter. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeEach, expect, it } from "vitest";
import type { DecisionLog, DecisionRecord, DeliveredDecision } from "./decision-log.js";
import type { TestClock } from "./test-clock.test-support.js";

export interface DecisionLogHarness {
  log: DecisionLog;
  /**
   * Another adapter on the same queue, as a restarted or second registry replica opens (a new
   * adapter on another connection for Redis; the same log in memory, which a restart would lose).
   */
  reopen(): DecisionLog;
  clock: TestClock;
}

const REDELIVER_AFTER_MS = 200;

/** The behaviour every {@link DecisionLog} adapter must show; call inside a `describe`. */
export function testDecisionLogContract(setup: () => Promise<DecisionLogHarness>): void {
  let log: DecisionLog;
  let reopen: () => DecisionLog;
  let clock: TestClock;
  const decision = (overrides: Partial<DecisionRecord> = {}): DecisionRecord => ({
    at: clock.now().toISOString(),
    outcome: "deny",
    reason: "ERR_ENVELOPE_RATE_EXCEEDED",
    serviceProviderId: "sp_1",
    tokenId: `jti-${randomUUID()}`,
    ...overrides,
  });
  /** Reads without waiting, redelivering after {@link REDELIVER_AFTER_MS}. */
  const read = (consumer: string, count = 100, from: DecisionLog = log) =>
    from.read({ consumer, count, blockMs: 0, redeliverAfterMs: REDELIVER_AFTER_MS });
  const recordsOf = (delivered: readonly DeliveredDecision[]) => delivered.map((d) => d.record);
  const idsOf = (delivered: readonly DeliveredDecision[]) => delivered.map((d) => d.id);

  beforeEach(async () => {
    ({ log, reopen, clock } = await setup());
  });

  it("delivers appended records in order, up to `count` at a time", async () => {
    const first = [
      decision({ outcome: "allow", reason: "ok", count: 12 }),
      decision({
        outcome: "step_up",
        reason: "ERR_ENVELOPE_STEP_UP_REQUIRED",
        agentId: "agt_1",
        grantId: "grt_1",
        humanId: "hum_1",
        action: {
          type: "payment",
          resource: "https://shop.example/checkout",
          amount: { amount: "120.00", currency: "EUR" },
        },
      }),
      decision({ action: { type: "read", resource: "https://api.example/orders" } }),
    ];
    const second = [decision(), decision()];
    await log.append(first);
    await log.append(second);
    await log.append([]);

    const batch = await read("registry-1", 4);
    expect(recordsOf(batch)).toEqual([...first, second[0]]);
    expect(new Set(idsOf(batch)).size).toBe(4);
    expect(recordsOf(await read("registry-1", 4))).toEqual([second[1]]);
    expect(await read("registry-1", 4)).toEqual([]);
  });

  it("delivers a record to one consumer at a time while it is pending", async () => {
    await log.append([decision(), decision()]);
    expect(await read("registry-1")).toHaveLength(2);
    expect(await read("registry-2")).toEqual([]);
    expect(await read("registry-1")).toEqual([]);
  });

  it("redelivers a record left unacknowledged for redeliverAfterMs, with the same id", async () => {
    const records = [decision(), decision()];
    await log.append(records);
    const first = await read("registry-1");
    await clock.advance(REDELIVER_AFTER_MS + 100);

    const again = await read("registry-2");
    expect(again).toEqual(first);
    // Claimed afresh: it is due again only redeliverAfterMs from now.
    expect(await read("registry-1")).toEqual([]);
    await clock.advance(REDELIVER_AFTER_MS + 100);
    expect(await read("registry-1")).toEqual(first);
  });

  it("never delivers an acknowledged record again", async () => {
    await log.append([decision(), decision(), decision()]);
    const delivered = await read("registry-1");
    await log.ack(idsOf(delivered.slice(0, 2)));
    // Acknowledging twice, or nothing, is harmless.
    await log.ack(idsOf(delivered.slice(0, 1)));
    await log.ack([]);
    await clock.advance(REDELIVER_AFTER_MS + 100);
    expect(await read("registry-2")).toEqual(delivered.slice(2));
    await log.ack(idsOf(delivered.slice(2)));
    await clock.advance(REDELIVER_AFTER_MS + 100);
    expect(await read("registry-2")).toEqual([]);
  });

  it("delivers records due again before new ones", async () => {
    const [old, ...fresh] = [decision(), decision(), decision()];
    await log.append([old as DecisionRecord]);
    const [first] = await read("registry-1");
    await log.append(fresh);
    await clock.advance(REDELIVER_AFTER_MS + 100);
    const delivered = await read("registry-2", 2);
    expect(delivered).toEqual([first, expect.objectContaining({ record: fresh[0] })]);
    expect(recordsOf(await read("registry-2", 2))).toEqual([fresh[1]]);
  });

  it("waits up to blockMs for a record, then returns none", async () => {
    const started = performance.now();
    const delivered = await log.read({
      consumer: "registry-1",
      count: 10,
      blockMs: 300,
      redeliverAfterMs: REDELIVER_AFTER_MS,
    });
    const elapsedMs = performance.now() - started;
    expect(delivered).toEqual([]);
    expect(elapsedMs).toBeGreaterThanOrEqual(280);
    expect(elapsedMs).toBeLessThan(1000);
  });

  it("wakes a waiting read as soon as a record is appended", async () => {
    const started = performance.now();
    const waiting = log.read({
      consumer: "registry-1",
      count: 10,
      blockMs: 4000,
      redeliverAfterMs: REDELIVER_AFTER_MS,
    });
    await sleep(100);
    const record = decision();
    await reopen().append([record]);
    expect(recordsOf(await waiting)).toEqual([record]);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("keeps records, delivered or not, across a reader restart", async () => {
    const records = [decision(), decision(), decision()];
    await log.append(records);
    const beforeCrash = await read("registry-1", 2);

    const restarted = reopen();
    const afterRestart = await read("registry-1", 10, restarted);
    expect(recordsOf(afterRestart)).toEqual([records[2]]);
    await restarted.ack(idsOf(afterRestart));
    await clock.advance(REDELIVER_AFTER_MS + 100);
    expect(await read("registry-1", 10, restarted)).toEqual(beforeCrash);
  });

  it("keeps what was appended, whatever the caller does with its objects afterwards", async () => {
    const original = decision({ action: { type: "read", resource: "https://api.example/a" } });
    const given = structuredClone(original);
    await log.append([given]);
    Object.assign(given, { reason: "changed" });
    const [delivered] = await read("registry-1");
    Object.assign(delivered?.record ?? {}, { reason: "changed too" });
    await clock.advance(REDELIVER_AFTER_MS + 100);
    expect(recordsOf(await read("registry-1"))).toEqual([original]);
  });

  it("refuses bad arguments with TypeError, appending none of a bad batch", async () => {
    const good = decision();
    const bad: unknown[] = [
      null,
      { ...good, at: "yesterday" },
      { ...good, at: "2030-13-01T00:00:00Z" },
      { ...good, outcome: "maybe" },
      { ...good, reason: "" },
      { ...good, serviceProviderId: undefined },
      { ...good, tokenId: 7 },
      { ...good, action: { type: "read" } },
      { ...good, action: { type: "pay", resource: "r", amount: { amount: "1.00" } } },
      { ...good, count: 0 },
      { ...good, count: 1.5 },
    ];
    for (const record of bad) {
      await expect(
        log.append([good, record as DecisionRecord]),
        JSON.stringify(record),
      ).rejects.toThrow(TypeError);
    }
    await expect(log.append(good as unknown as DecisionRecord[])).rejects.toThrow(TypeError);
    expect(await read("registry-1")).toEqual([]);

    const options = { consumer: "registry-1", count: 10, blockMs: 0, redeliverAfterMs: 100 };
    const badOptions: unknown[] = [
      null,
      { ...options, consumer: "" },
      { ...options, count: 0 },
      { ...options, count: 1.5 },
      { ...options, blockMs: -1 },
      { ...options, blockMs: Number.POSITIVE_INFINITY },
      { ...options, redeliverAfterMs: 0 },
    ];
    for (const readOptions of badOptions) {
      await expect(
        log.read(readOptions as Parameters<DecisionLog["read"]>[0]),
        JSON.stringify(readOptions),
      ).rejects.toThrow(TypeError);
    }
    await expect(log.ack(["not-an-id"])).rejects.toThrow(TypeError);
    await expect(log.ack([1 as unknown as string])).rejects.toThrow(TypeError);
    await expect(log.ack("1-0" as unknown as string[])).rejects.toThrow(TypeError);
  });
}

import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type {
  RevocationBus,
  RevocationKind,
  RevocationRecord,
  RevocationSubscription,
} from "./revocation-bus.js";
import {
  createRevocationRecorder,
  type RevocationRecorder,
} from "./revocation-recorder.test-support.js";
import type { TestClock } from "./test-clock.test-support.js";

export interface RevocationBusHarness {
  bus: RevocationBus;
  clock: TestClock;
}

/** The behaviour every {@link RevocationBus} adapter must show; call inside a `describe`. */
export function testRevocationBusContract(setup: () => Promise<RevocationBusHarness>): void {
  let bus: RevocationBus;
  let clock: TestClock;
  const subscriptions: RevocationSubscription[] = [];
  const inMs = (ms: number) => new Date(clock.now().getTime() + ms);
  const record = (kind: RevocationKind, expiresInMs = 60_000): RevocationRecord => ({
    kind,
    subject: `${kind}-${randomUUID()}`,
    expiresAt: inMs(expiresInMs),
  });
  const subscribe = async (): Promise<
    RevocationRecorder & { subscription: RevocationSubscription }
  > => {
    const recorder = createRevocationRecorder();
    const subscription = await bus.subscribe(recorder.listener);
    subscriptions.push(subscription);
    return { ...recorder, subscription };
  };

  beforeEach(async () => {
    ({ bus, clock } = await setup());
  });
  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
  });

  it("delivers each revocation to every subscriber within 100 ms (asserted: 1 s)", async () => {
    const replicas = [await subscribe(), await subscribe()];
    const latencies: number[] = [];
    for (let i = 0; i < 50; i += 1) {
      const revoked = record("token");
      const started = performance.now();
      const arrived = Promise.all(replicas.map((replica) => replica.arrival(revoked.subject)));
      await bus.publish(revoked);
      await arrived;
      latencies.push(performance.now() - started);
      for (const replica of replicas) {
        expect(replica.set.isRevoked("token", revoked.subject, clock.now())).toBe(true);
      }
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => (latencies[Math.ceil(q * latencies.length) - 1] ?? 0).toFixed(2);
    console.info(
      `${expect.getState().currentTestName}: publish → both subscribers, 50 revocations: ` +
        `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`,
    );
    expect(Math.max(...latencies)).toBeLessThan(1000);
  });

  it("reloads earlier revocations for a subscriber that joins later", async () => {
    const earlier = [record("token"), record("grant"), { ...record("agent"), subject: "a:b:c" }];
    for (const revoked of earlier) await bus.publish(revoked);
    const late = await subscribe();
    expect(late.reloads).toHaveLength(1);
    expect(sortBySubject(late.reloads[0] ?? [])).toEqual(sortBySubject(earlier));
    expect(sortBySubject(await bus.loadAll())).toEqual(sortBySubject(earlier));
    expect(late.set.isRevoked("agent", "a:b:c", clock.now())).toBe(true);
    expect(late.set.isRevoked("token", "a:b:c", clock.now())).toBe(false);
  });

  it("keeps the later expiry when a subject is revoked twice", async () => {
    const replica = await subscribe();
    const first = record("grant", 120_000);
    await bus.publish(first);
    await bus.publish({ ...first, expiresAt: inMs(60_000) });
    expect(await bus.loadAll()).toEqual([first]);
    await vi.waitFor(() => expect(replica.received).toHaveLength(2));
    expect(replica.set.isRevoked("grant", first.subject, inMs(90_000))).toBe(true);
    expect((await subscribe()).reloads[0]).toEqual([first]);
  });

  it("drops revocations once they expire", async () => {
    const replica = await subscribe();
    const shortLived = record("token", 200);
    const longLived = record("token");
    const arrived = Promise.all([
      replica.arrival(shortLived.subject),
      replica.arrival(longLived.subject),
    ]);
    await bus.publish(shortLived);
    await bus.publish(longLived);
    await arrived;
    expect(replica.set.isRevoked("token", shortLived.subject, clock.now())).toBe(true);
    await clock.advance(300);
    expect(replica.set.isRevoked("token", shortLived.subject, clock.now())).toBe(false);
    expect(replica.set.isRevoked("token", longLived.subject, clock.now())).toBe(true);
    expect(await bus.loadAll()).toEqual([longLived]);
    expect((await subscribe()).reloads[0]).toEqual([longLived]);
  });

  it("stops delivering to a closed subscription", async () => {
    const closing = await subscribe();
    const staying = await subscribe();
    await closing.subscription.close();
    const revoked = record("agent");
    await bus.publish(revoked);
    await staying.arrival(revoked.subject);
    expect(closing.received).toEqual([]);
  });

  it("refuses malformed records with TypeError", async () => {
    const good = record("token");
    const bad: unknown[] = [
      { ...good, kind: "human" },
      { ...good, subject: "" },
      { ...good, expiresAt: new Date(Number.NaN) },
      { ...good, expiresAt: good.expiresAt.getTime() },
      null,
    ];
    for (const revoked of bad) {
      await expect(bus.publish(revoked as RevocationRecord)).rejects.toThrow(TypeError);
    }
    expect(await bus.loadAll()).toEqual([]);
  });
}

function sortBySubject(records: readonly RevocationRecord[]): RevocationRecord[] {
  return [...records].sort((a, b) => a.subject.localeCompare(b.subject));
}

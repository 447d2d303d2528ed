import { createMemoryRevocationBus, type RevocationBus, StateError } from "@agentauth/state";
import { describe, expect, it, vi } from "vitest";
import { createAgentKey, startBareVerifier, tokenClaims } from "../support/bare-verifier.js";
import { exchange } from "../support/http.js";
import { verifyBody } from "../support/verifier-harness.js";

/** A revocation bus whose first subscriptions fail, whose next can be held, and that counts. */
function createFlakyBus(failures: number) {
  const inner = createMemoryRevocationBus();
  const flaky = {
    failures,
    subscribes: 0,
    closes: 0,
    gate: undefined as Promise<void> | undefined,
    bus: {
      publish: (record) => inner.publish(record),
      loadAll: () => inner.loadAll(),
      async subscribe(listener) {
        flaky.subscribes += 1;
        await flaky.gate;
        if (flaky.failures > 0) {
          flaky.failures -= 1;
          throw new StateError("ERR_STATE_UNAVAILABLE", "Redis subscribe failed");
        }
        const subscription = await inner.subscribe(listener);
        return {
          async close() {
            flaky.closes += 1;
            await subscription.close();
          },
        };
      },
    } satisfies RevocationBus,
  };
  return flaky;
}

describe("the verifier's start and stop", () => {
  it("starts when its revocation subscription fails, refusing until a retry succeeds", async () => {
    const flaky = createFlakyBus(1);
    const verifier = await startBareVerifier({ state: { revocationBus: flaky.bus } });
    try {
      const ready = () => exchange(`${verifier.url}/health/ready`);
      expect((await ready()).json).toMatchObject({ checks: { jwks: true, revocations: false } });
      const agent = await createAgentKey();
      const token = await verifier.signer.sign(tokenClaims(agent));
      const body = await verifyBody(agent, token, { nonce: await verifier.nonce() });
      expect((await verifier.verify(body)).status).toBe(503);
      await vi.waitFor(async () => expect((await ready()).status).toBe(200), {
        timeout: 5000,
        interval: 50,
      });
      expect(flaky.subscribes).toBe(2);
      expect((await verifier.verify(body)).json).toMatchObject({ decision: "allow" });
    } finally {
      await verifier.stop();
    }
    expect(flaky.closes).toBe(1);
  });

  it("closes a revocation subscription that opens after it was stopped", async () => {
    const flaky = createFlakyBus(1);
    const verifier = await startBareVerifier({ state: { revocationBus: flaky.bus } });
    let open: () => void = () => {};
    flaky.gate = new Promise((resolve) => {
      open = resolve;
    });
    // The retry, a second after the failure, is under way when the verifier stops.
    await vi.waitFor(() => expect(flaky.subscribes).toBe(2), { timeout: 5000, interval: 20 });
    await verifier.stop();
    open();
    await vi.waitFor(() => expect(flaky.closes).toBe(1), { timeout: 1000, interval: 10 });
  });

  it("retries no more once stopped", async () => {
    const flaky = createFlakyBus(100);
    const verifier = await startBareVerifier({ state: { revocationBus: flaky.bus } });
    await verifier.stop();
    const attempts = flaky.subscribes;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(flaky.subscribes).toBe(attempts);
  });
});

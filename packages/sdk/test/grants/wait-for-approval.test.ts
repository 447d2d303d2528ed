import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { Agent } from "../../src/agent.js";
import type { GrantRequest, RequestGrantOptions } from "../../src/grants/grant-request.js";
import { failure } from "../support/assertions.js";
import {
  describeEachBackend,
  startTestPlatform,
  type TestPlatform,
  uniqueBindingMessage,
} from "../support/test-platform.js";

describeEachBackend("waiting for the human's decision", (backend) => {
  let platform: TestPlatform;
  let agent: Agent;
  beforeAll(async () => {
    platform = await startTestPlatform(backend);
    ({ agent } = await platform.createAgent());
    await agent.enroll(await platform.enrolmentCode());
  });
  afterAll(() => platform?.close());
  afterEach(() => {
    platform.clock.pace = 1;
    platform.clock.onSleep = undefined;
  });

  const ask = (options: Partial<RequestGrantOptions> = {}): Promise<GrantRequest> =>
    agent.requestGrant({
      serviceProvider: platform.serviceProviderId,
      capabilities: [{ type: "read", resource: "balance" }],
      bindingMessage: uniqueBindingMessage(),
      ...options,
    });

  /** The waits the SDK asks for from now on. */
  const sleepsFrom = () => {
    const start = platform.clock.sleeps.length;
    return () => platform.clock.sleeps.slice(start);
  };

  it("reports a denial with the human's reason", async () => {
    const request = await ask();
    await platform.deny(request.requestId, "Not for this trip");
    const denied = await failure(request.waitForApproval());
    expect(denied).toMatchObject({
      code: "ERR_ACCESS_DENIED",
      denialReason: "Not for this trip",
      oauthError: "access_denied",
      requestId: request.requestId,
      serviceProvider: platform.serviceProviderId,
    });
    expect(denied.message).toContain("Not for this trip");
    expect(agent.grant(platform.serviceProviderId)).toBeUndefined();
  });

  it("reports a request that expired before the human decided", async () => {
    const request = await ask({ requestExpiry: 60 });
    expect(request.expiresAt.getTime() - platform.clock.now().getTime()).toBeLessThanOrEqual(
      60_000,
    );
    platform.clock.advance(61);
    expect(await failure(request.waitForApproval())).toMatchObject({
      code: "ERR_REQUEST_EXPIRED",
      oauthError: "expired_token",
      requestId: request.requestId,
    });
  });

  it("slows down by 5 s for every slow_down, and gets its token once approved", async () => {
    const request = await ask();
    const sleeps = sleepsFrom();
    // The SDK's waits pass at half speed for the registry: every poll after the first is early.
    platform.clock.pace = 0.5;
    let approved: Promise<unknown> | undefined;
    platform.clock.onSleep = async (index) => {
      if (sleeps().length === 5 && approved === undefined) {
        platform.clock.pace = 1;
        approved = platform.approve(request.requestId);
        await approved;
      }
      expect(index).toBeGreaterThanOrEqual(0);
    };
    const grant = await request.waitForApproval();
    expect(grant.serviceProvider).toBe(platform.serviceProviderId);
    // 5 s; early (pending); early: slow_down → 10 s; early: → 15 s; early: → 20 s; on time.
    expect(sleeps()).toEqual([5000, 5000, 10_000, 15_000, 20_000]);
    expect(request.interval).toBe(20);
  });

  it("gives up at its timeout, leaving the request open to wait for again", async () => {
    const request = await ask();
    const sleeps = sleepsFrom();
    const timedOut = await failure(request.waitForApproval({ timeout: 12_000 }));
    expect(timedOut).toMatchObject({ code: "ERR_TIMEOUT", requestId: request.requestId });
    // Two polls, then the rest of the 12 s (less the real time the polls took), then the error.
    expect(sleeps().slice(0, 2)).toEqual([5000, 5000]);
    expect(sleeps()).toHaveLength(3);
    expect(sleeps()[2]).toBeGreaterThan(1000);
    expect(sleeps()[2]).toBeLessThanOrEqual(2000);
    await platform.approve(request.requestId);
    const grant = await request.waitForApproval();
    expect(grant.serviceProvider).toBe(platform.serviceProviderId);
    // Redeemed once: asked again, the request answers the same grant without polling.
    const polls = sleeps().length;
    expect(await request.waitForApproval()).toBe(grant);
    expect(sleeps()).toHaveLength(polls);
  });

  it("stops at once when its signal aborts, between polls or before starting", async () => {
    const request = await ask();
    const controller = new AbortController();
    const sleeps = sleepsFrom();
    platform.clock.onSleep = async () => {
      if (sleeps().length === 2) controller.abort(new Error("the agent is shutting down"));
    };
    const aborted = await failure(request.waitForApproval({ signal: controller.signal }));
    expect(aborted.code).toBe("ERR_ABORTED");
    expect((aborted.cause as Error).message).toBe("the agent is shutting down");
    expect(sleeps()).toHaveLength(2);
    expect(await failure(request.waitForApproval({ signal: controller.signal }))).toMatchObject({
      code: "ERR_ABORTED",
    });
    expect(sleeps()).toHaveLength(2);
  });

  it("refuses a second waiter on the same request, and bad options", async () => {
    const request = await ask();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    platform.clock.onSleep = () => held;
    const first = request.waitForApproval();
    await expect(request.waitForApproval()).rejects.toThrow(/already waiting/);
    await expect(request.waitForApproval({ timeout: -1 })).rejects.toBeInstanceOf(TypeError);
    platform.clock.onSleep = undefined;
    release();
    await platform.approve(request.requestId);
    await first;
  });

  it("checks what it asks for before sending it", async () => {
    const cases: [Partial<RequestGrantOptions>, RegExp][] = [
      [{ capabilities: [] }, /capabilities must be a non-empty array/],
      [
        { capabilities: [{ type: "read", resource: "a/*/b" }] },
        /authorization_details\[0\]\.resource/,
      ],
      [
        {
          capabilities: [
            { type: "transact", resource: "merchant/acme", max_amount: "1.5", currency: "EUR" },
          ],
        },
        /max_amount/,
      ],
      [{ envelope: { rate_limit: { max_requests: 0, window_seconds: 60 } } }, /rate_limit/],
      [{ lifetime: 10 }, /lifetime must be a whole number of seconds from 60/],
      [{ requestExpiry: 1.5 }, /requestExpiry/],
      [{ serviceProvider: "" }, /serviceProvider/],
      [{ bindingMessage: 7 as unknown as string }, /bindingMessage/],
    ];
    for (const [options, message] of cases) {
      await expect(ask(options), JSON.stringify(options)).rejects.toThrow(message);
      await expect(ask(options)).rejects.toBeInstanceOf(TypeError);
    }
  });
});

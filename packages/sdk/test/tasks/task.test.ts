import { randomBytes } from "node:crypto";
import { createDpopProof, createWebCryptoDpopKey } from "@agentauth/core";
import { introspect } from "@agentauth/registry/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Agent } from "../../src/agent.js";
import { generateAgentKeyPair } from "../../src/keys/agent-key-pair.js";
import { createMemoryKeyStore } from "../../src/keys/memory-key-store.js";
import type { Task } from "../../src/tasks/task.js";
import { claimsOf, failure } from "../support/assertions.js";
import type { RecordingFetch } from "../support/recording-fetch.js";
import {
  describeEachBackend,
  startTestPlatform,
  type TestPlatform,
} from "../support/test-platform.js";

describeEachBackend("per-task tokens", (backend) => {
  let platform: TestPlatform;
  let agent: Agent;
  let recording: RecordingFetch;
  let keyPair: CryptoKeyPair;

  beforeAll(async () => {
    platform = await startTestPlatform(backend);
    // The test holds the agent's key pair too, to call the service provider as anyone holding a
    // leaked task token and the agent's key could: the key is not extractable, but usable here.
    keyPair = await generateAgentKeyPair(false);
    ({ agent, fetch: recording } = await platform.agentWithGrant({
      keyStore: createMemoryKeyStore({ keyPair }),
    }));
  });
  afterAll(() => platform?.close());

  const payWith = (task: Task | Agent, amount: string) =>
    task.fetch(`${platform.serviceProvider.url}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ merchant: "acme", amount, currency: "EUR" }),
      ...(task === agent ? { serviceProvider: platform.serviceProviderId } : {}),
    });

  /** The task token a task's calls carried. */
  const tokenOf = (fromIndex: number): string => {
    const sent = recording
      .to("/payments")
      .slice(fromIndex)
      .map((request) => request.headers.get("authorization"))
      .find((header) => header !== null);
    return (sent ?? "").replace(/^DPoP /, "");
  };

  /**
   * What the service provider's verifier says of `token` now: a call with a fresh proof by the
   * agent's own key, learning the verifier's nonce first, exactly as the SDK would.
   */
  async function verifierVerdict(token: string): Promise<{ status: number; reason?: string }> {
    const key = await createWebCryptoDpopKey(keyPair);
    const url = `${platform.serviceProvider.url}/payments`;
    let nonce: string | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `DPoP ${token}`,
          dpop: await createDpopProof({
            key,
            method: "POST",
            url,
            now: platform.clock.now(),
            jti: randomBytes(24).toString("base64url"),
            accessToken: token,
            ...(nonce === undefined ? {} : { nonce }),
          }),
        },
        body: JSON.stringify({ merchant: "acme", amount: "1.00", currency: "EUR" }),
      });
      const body = response.status === 200 ? {} : ((await response.json()) as { reason?: string });
      if (body.reason !== "dpop_nonce_required" && body.reason !== "dpop_nonce_invalid") {
        return { status: response.status, ...body };
      }
      nonce = response.headers.get("dpop-nonce") ?? undefined;
    }
    throw new Error("the verifier kept asking for a nonce");
  }

  it("gives a narrowed, short-lived token that the verifier refuses as soon as the block exits", async () => {
    const from = recording.to("/payments").length;
    let token: string;
    {
      await using task = await agent.task({
        serviceProvider: platform.serviceProviderId,
        capabilities: [
          { type: "transact", resource: "merchant/acme", max_amount: "10.00", currency: "EUR" },
        ],
        ttl: 120,
      });
      expect(task.revoked).toBe(false);
      expect(task.authorization.capabilities).toEqual([
        { type: "transact", resource: "merchant/acme", max_amount: "10.00", currency: "EUR" },
      ]);
      expect((await payWith(task, "5.00")).status).toBe(200);
      // Narrower than the grant (50.00 EUR): the verifier holds the task to its own limit.
      expect(await failure(payWith(task, "20.00"))).toMatchObject({
        code: "ERR_INSUFFICIENT_CAPABILITY",
        reason: "capability_not_granted",
      });
      token = tokenOf(from);
      const claims = claimsOf(token);
      expect(claims.task_of).toEqual(expect.any(String));
      expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(120);
      expect(task.expiresAt.getTime() - platform.clock.now().getTime()).toBeLessThanOrEqual(
        120_000,
      );
      expect(await verifierVerdict(token)).toEqual({ status: 200 });
    }
    expect(await verifierVerdict(token)).toMatchObject({ status: 401, reason: "token_revoked" });
    expect((await introspect(platform.registry.app, platform.apiKey, token)).body).toEqual({
      active: false,
    });
    // The grant's own token lives on.
    expect((await payWith(agent, "1.00")).status).toBe(200);
  });

  it("revokes the token when the block throws, too", async () => {
    const from = recording.to("/payments").length;
    let leaked: Task | undefined;
    const run = async () => {
      await using task = await agent.task({ serviceProvider: platform.serviceProviderId, ttl: 60 });
      leaked = task;
      expect((await payWith(task, "2.00")).status).toBe(200);
      throw new Error("the task failed half-way");
    };
    await expect(run()).rejects.toThrow("the task failed half-way");
    const token = tokenOf(from);
    expect(claimsOf(token).task_of).toEqual(expect.any(String));
    expect(await verifierVerdict(token)).toMatchObject({ status: 401, reason: "token_revoked" });
    expect(leaked?.revoked).toBe(true);
    expect(await failure(payWith(leaked as Task, "1.00"))).toMatchObject({
      code: "ERR_TASK_REVOKED",
    });
  });

  it("revokes once however often it is asked, and refuses calls locally at once", async () => {
    const task = await agent.task({ serviceProvider: platform.serviceProviderId, ttl: 60 });
    const revocations = () => recording.to("/oauth/revoke").length;
    const before = revocations();
    const calls = recording.to("/payments").length;
    await Promise.all([task.revoke(), task.revoke()]);
    await task.revoke();
    await task[Symbol.asyncDispose]();
    expect(revocations() - before).toBe(1);
    expect(await failure(payWith(task, "1.00"))).toMatchObject({ code: "ERR_TASK_REVOKED" });
    expect(recording.to("/payments").length).toBe(calls);
  });

  it("tries the revocation again after it failed", async () => {
    const task = await agent.task({ serviceProvider: platform.serviceProviderId, ttl: 60 });
    const from = recording.to("/payments").length;
    expect((await payWith(task, "1.00")).status).toBe(200);
    const token = tokenOf(from);
    const aborted = AbortSignal.abort(new Error("shutting down"));
    expect(await failure(task.revoke({ signal: aborted }))).toMatchObject({ code: "ERR_ABORTED" });
    expect(task.revoked).toBe(true);
    expect(await verifierVerdict(token)).toEqual({ status: 200 });
    await task.revoke();
    expect(await verifierVerdict(token)).toMatchObject({ status: 401, reason: "token_revoked" });
  });

  it("ends when its ttl does", async () => {
    const task = await agent.task({ serviceProvider: platform.serviceProviderId, ttl: 30 });
    platform.clock.advance(31);
    expect(await failure(payWith(task, "1.00"))).toMatchObject({ code: "ERR_TASK_EXPIRED" });
    await task.revoke();
  });

  it("refuses a task wider than its grant, a grant it does not hold, and bad options", async () => {
    expect(
      await failure(
        agent.task({
          serviceProvider: platform.serviceProviderId,
          capabilities: [
            { type: "transact", resource: "merchant/*", max_amount: "10.00", currency: "EUR" },
          ],
          ttl: 60,
        }),
      ),
    ).toMatchObject({ code: "ERR_REQUEST_INVALID", oauthError: "invalid_authorization_details" });
    expect(
      await failure(agent.task({ serviceProvider: "https://other.example.com", ttl: 60 })),
    ).toMatchObject({ code: "ERR_NO_GRANT" });
    for (const ttl of [0, 901, 1.5, undefined]) {
      await expect(
        agent.task({ serviceProvider: platform.serviceProviderId, ttl: ttl as number }),
      ).rejects.toBeInstanceOf(TypeError);
    }
    await expect(
      agent.task({
        serviceProvider: platform.serviceProviderId,
        capabilities: [{ type: "read", resource: "" }],
        ttl: 60,
      }),
    ).rejects.toBeInstanceOf(TypeError);
  });
});

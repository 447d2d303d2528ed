import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createFileGrantStorage } from "../../src/grants/file-grant-storage.js";
import { createFileKeyStore } from "../../src/keys/file-key-store.js";
import type { SdkLogger } from "../../src/logger.js";
import { failure } from "../support/assertions.js";
import { temporaryFiles } from "../support/temporary-files.js";
import {
  describeEachBackend,
  PAYMENT_GRANT,
  startTestPlatform,
  type TestPlatform,
  uniqueBindingMessage,
} from "../support/test-platform.js";
import { close, listen } from "../support/test-service-provider.js";

/** Everything an error carries that could end up in a log: message, stack, fields, causes. */
function everythingIn(error: unknown, depth = 0): string {
  if (depth > 5 || typeof error !== "object" || error === null) return String(error);
  const own = Object.entries(error).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  const { message, stack, cause } = error as {
    message?: unknown;
    stack?: unknown;
    cause?: unknown;
  };
  return [String(message), String(stack), ...own, everythingIn(cause, depth + 1)].join("\n");
}

const keyFiles = await temporaryFiles("agentauth-sdk-identity-", "agent-key.json");

describeEachBackend("the agent's identity and secrets", (backend) => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform(backend);
  });
  afterAll(() => platform?.close());

  it("keeps its key and enrolment across restarts with the file key store", async () => {
    const path = keyFiles.freshPath();
    const { agent: first } = await platform.createAgent({ keyStore: createFileKeyStore(path) });
    await first.enroll(await platform.enrolmentCode());

    const { agent: restarted } = await platform.createAgent({ keyStore: createFileKeyStore(path) });
    expect(restarted.id).toBe(first.id);
    expect(restarted.jkt).toBe(first.jkt);
    expect(await failure(restarted.enroll(await platform.enrolmentCode()))).toMatchObject({
      code: "ERR_ALREADY_ENROLLED",
    });
    // The registry knows it by its key: its assertions and proofs are accepted.
    const request = await restarted.requestGrant({
      serviceProvider: platform.serviceProviderId,
      capabilities: [{ type: "read", resource: "balance" }],
      bindingMessage: uniqueBindingMessage(),
    });
    await platform.approve(request.requestId);
    expect((await request.waitForApproval()).serviceProvider).toBe(platform.serviceProviderId);
  });

  it("never puts a token, refresh token, proof, assertion or key in an error or a log line", async () => {
    const path = keyFiles.freshPath();
    const lines: string[] = [];
    const logger: SdkLogger = {
      debug: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
      warn: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
    };
    const { agent, fetch } = await platform.agentWithGrant({
      keyStore: createFileKeyStore(path),
      grantStorage: createFileGrantStorage(join(dirname(path), "grants.json")),
      logger,
      details: {
        capabilities: PAYMENT_GRANT.capabilities,
        envelope: { step_up_above: { amount: "20.00", currency: "EUR" } },
      },
    });
    const errors: unknown[] = [];
    const expectFailure = async (promise: Promise<unknown>) => errors.push(await failure(promise));
    const pay = (amount: string, merchant = "acme") =>
      agent.fetch(`${platform.serviceProvider.url}/payments`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ merchant, amount, currency: "EUR" }),
        serviceProvider: platform.serviceProviderId,
      });

    expect((await pay("1.00")).status).toBe(200);
    await expectFailure(pay("30.00"));
    await expectFailure(pay("1.00", "evil"));
    const stubborn = createServer((_req, res) => {
      res.writeHead(401, {
        "WWW-Authenticate": 'DPoP error="use_dpop_nonce"',
        "DPoP-Nonce": `n${Date.now()}`,
      });
      res.end();
    });
    const stubbornUrl = await listen(stubborn);
    await expectFailure(agent.fetch(stubbornUrl, { serviceProvider: platform.serviceProviderId }));
    await close(stubborn);
    await expectFailure(agent.fetch(stubbornUrl, { serviceProvider: platform.serviceProviderId }));
    platform.clock.advance(560);
    expect((await pay("1.00")).status).toBe(200);
    await expectFailure(
      agent.task({
        serviceProvider: platform.serviceProviderId,
        capabilities: [{ type: "read", resource: "*" }],
        ttl: 60,
      }),
    );
    const task = await agent.task({ serviceProvider: platform.serviceProviderId, ttl: 60 });
    expect((await task.fetch(`${platform.serviceProvider.url}/balance`)).status).toBe(200);
    await task.revoke();
    await expectFailure(task.fetch(`${platform.serviceProvider.url}/balance`));
    await platform.revokeGrant(agent.grant(platform.serviceProviderId)?.grantId as string);
    await expectFailure(pay("1.00"));

    // Every secret that went over the wire, and the private key itself.
    const secrets = new Set<string>();
    for (const request of fetch.requests) {
      const authorization = request.headers.get("authorization");
      if (authorization?.startsWith("DPoP ")) secrets.add(authorization.slice(5));
      const proof = request.headers.get("dpop");
      if (proof !== null) secrets.add(proof);
      const form = new URLSearchParams(request.body);
      for (const field of ["client_assertion", "refresh_token", "subject_token", "token"]) {
        const value = form.get(field);
        if (value !== null) secrets.add(value);
      }
    }
    secrets.add(JSON.parse(await readFile(path, "utf8")).d);
    expect(fetch.to("/oauth/token", "refresh_token").length).toBeGreaterThan(0);
    expect(secrets.size).toBeGreaterThan(10);

    expect(errors).toHaveLength(7);
    expect(lines.length).toBeGreaterThan(3);
    const reported = [...errors.map((error) => everythingIn(error)), ...lines].join("\n");
    for (const secret of secrets) {
      expect(reported.includes(secret), `a secret of ${secret.length} characters leaked`).toBe(
        false,
      );
      // Not even the signature part of a JWT.
      const signature = secret.split(".")[2];
      if (signature !== undefined && signature.length > 20) {
        expect(reported.includes(signature)).toBe(false);
      }
    }
  });
});

import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { createDpopNonceSource } from "@agentauth/core";
import {
  createMemoryDecisionLog,
  createMemoryQuotaStore,
  createMemoryReplayStore,
  createMemoryRevocationBus,
  createMemoryServiceProviderKeyDirectory,
} from "@agentauth/state";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createVerifier } from "../../src/create-verifier.js";
import {
  closeServer,
  createAgentKey,
  createApiKey,
  createTokenSigner,
  DETAILS,
  ISSUER,
  publishKey,
  startJwksServer,
  tokenClaims,
} from "../support/bare-verifier.js";
import { exchange } from "../support/http.js";
import { listen, urlOf, verifyBody } from "../support/verifier-harness.js";

// State wired before admission stores — a replay store and a quota store — still works: the
// verifier marks proofs and counts envelopes with them, one after the other.

describe("a verifier on a separate replay store and quota store", () => {
  it("refuses replays and counts the envelope exactly", async () => {
    const signer = await createTokenSigner();
    const jwks = await startJwksServer([signer.jwk]);
    const keyDirectory = createMemoryServiceProviderKeyDirectory();
    const apiKey = createApiKey();
    await publishKey(keyDirectory, apiKey);
    const secret = randomBytes(32);
    const verifier = createVerifier({
      logger: pino({ level: "silent" }),
      clock: { now: () => new Date() },
      issuer: ISSUER,
      jwksUrl: jwks.url,
      state: {
        replayStore: createMemoryReplayStore(),
        quotaStore: createMemoryQuotaStore(),
        revocationBus: createMemoryRevocationBus(),
        keyDirectory,
        decisionLog: createMemoryDecisionLog(),
      },
      dpopNonceSecret: secret,
      requireDpopNonce: true,
      clockSkewSeconds: 5,
      apiKeyCacheSeconds: 5,
      tokenCacheSize: 100,
      auditAllows: "none",
    });
    await verifier.start();
    const server = await listen(createServer(verifier.handler));
    try {
      const agent = await createAgentKey();
      const token = await signer.sign(
        tokenClaims(agent, {
          authorization_details: [
            ...DETAILS,
            { type: "envelope", rate_limit: { max_requests: 2, window_seconds: 3600 } },
          ],
        }),
      );
      const nonce = await createDpopNonceSource({ secret }).issue(new Date());
      const action = { type: "read", resource: "reports/q3" };
      const ask = async (body: Record<string, unknown>) =>
        (
          await exchange(`${urlOf(server)}/v1/verify`, {
            headers: { authorization: `Bearer ${apiKey}` },
            body,
          })
        ).json;
      const once = await verifyBody(agent, token, { nonce, action });
      expect(await ask(once)).toMatchObject({ decision: "allow", remaining: { requests: 1 } });
      expect(await ask(once)).toMatchObject({ reason: "dpop_jti_replayed" });
      expect(await ask(await verifyBody(agent, token, { nonce, action }))).toMatchObject({
        decision: "allow",
        remaining: { requests: 0 },
      });
      expect(await ask(await verifyBody(agent, token, { nonce, action }))).toMatchObject({
        reason: "rate_limited",
      });
    } finally {
      await closeServer(server);
      await verifier.stop();
      await jwks.close();
    }
  });
});

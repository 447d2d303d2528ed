import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  canonicalizeGrant,
  computeGrantDigest,
  deriveApprovalChallenge,
  type FinalGrant,
} from "./grant-digest.js";

const grant: FinalGrant = {
  requestId: "req_1",
  agentJkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
  serviceProviderId: "sp_payments",
  authorization: {
    capabilities: [
      { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
    ],
    envelope: {
      type: "envelope",
      spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }],
    },
  },
  expiresAt: new Date("2026-12-01T00:00:00Z"),
};

describe("grant digest", () => {
  it("is SHA-256 over the documented canonical document", async () => {
    const canonical =
      '{"agent_jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I","authorization_details":[' +
      '{"currency":"EUR","max_amount":"50.00","resource":"merchant/acme","type":"transact"},' +
      '{"spend_caps":[{"amount":"200.00","currency":"EUR","window_seconds":86400}],"type":"envelope"}],' +
      '"expires_at":1796083200,"request_id":"req_1","service_provider":"sp_payments","typ":"agentauth-grant-v1"}';
    expect(canonicalizeGrant(grant)).toBe(canonical);
    expect(await computeGrantDigest(grant)).toBe(
      createHash("sha256").update(canonical).digest("base64url"),
    );
  });

  it("does not depend on member order", async () => {
    const reordered: FinalGrant = {
      ...grant,
      authorization: {
        ...grant.authorization,
        capabilities: [
          { currency: "EUR", max_amount: "50.00", type: "transact", resource: "merchant/acme" },
        ],
      },
    };
    expect(await computeGrantDigest(reordered)).toBe(await computeGrantDigest(grant));
  });

  it.each([
    ["request", { requestId: "req_2" }],
    ["agent key", { agentJkt: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" }],
    ["service provider", { serviceProviderId: "sp_other" }],
    ["expiry", { expiresAt: new Date("2026-12-01T00:00:01Z") }],
    [
      "limit",
      {
        authorization: {
          capabilities: [
            {
              type: "transact" as const,
              resource: "merchant/acme",
              max_amount: "50.01",
              currency: "EUR",
            },
          ],
        },
      },
    ],
  ])("changes with the %s", async (_name, change) => {
    expect(await computeGrantDigest({ ...grant, ...change })).not.toBe(
      await computeGrantDigest(grant),
    );
  });
});

describe("deriveApprovalChallenge", () => {
  it("binds the digest and the server nonce", async () => {
    const digest = await computeGrantDigest(grant);
    const nonce = "c2VydmVyLW5vbmNlLTEyMzQ1Ng";
    const challenge = await deriveApprovalChallenge(digest, nonce);
    expect(Buffer.from(challenge)).toEqual(
      createHash("sha256").update(`agentauth-approval-v1.${digest}.${nonce}`).digest(),
    );
    expect(await deriveApprovalChallenge(digest, "b3RoZXItc2VydmVyLW5vbmNl")).not.toEqual(
      challenge,
    );
  });

  it("rejects malformed inputs as programming errors", async () => {
    const digest = await computeGrantDigest(grant);
    await expect(deriveApprovalChallenge("short", "c2VydmVyLW5vbmNlLTEyMzQ1Ng")).rejects.toThrow(
      TypeError,
    );
    await expect(deriveApprovalChallenge(digest, "c2hvcnQ")).rejects.toThrow(TypeError);
  });
});

import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import request from "supertest";
import { beforeAll, expect, it, vi } from "vitest";
import { ConfigError } from "../../src/config.js";
import { rotateSigningKey } from "../../src/signing/rotate-signing-key.js";
import { SIGNING_KEY_RETENTION_SECONDS } from "../../src/signing/signing-key-ring.js";
import { auditEvents, introspect, obtainToken, refresh } from "../grants/grant-helpers.js";
import type { TestAgent } from "../kit/agent-client.js";
import { describeEachDatabase } from "../support/databases.js";
import {
  createPaymentsProvider,
  createTestRegistry,
  enrolAgent,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describeEachDatabase("rotate-signing-key: the command and a running registry", (database) => {
  let test: TestRegistry;
  let apiKey: string;
  let agent: TestAgent;

  beforeAll(async () => {
    test = await createTestRegistry(database.db());
    ({ apiKey } = await createPaymentsProvider(test.admin));
    agent = await enrolAgent(test);
  });

  const jwks = async () => {
    // Past the registry's few seconds of JWKS caching.
    test.clock.advance(6);
    return (await request(test.registry.app).get("/.well-known/jwks.json").expect(200)).body;
  };

  it("rotates the key file; the running registry switches to it, and serves the old key until its tokens expire", async () => {
    const before = await obtainToken(test, agent);
    const oldKid = kidOf(before.accessToken);
    // Only the registry's intervals (key activation among them) run on the fake clock.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    test.registry.start();
    let newToken: string;
    let rotated: Awaited<ReturnType<typeof rotateSigningKey>>;
    try {
      rotated = await rotateSigningKey({ SIGNING_KEY_FILE: test.signingKeyFile });
      expect(rotated).toMatchObject({ path: test.signingKeyFile, retiredKid: oldKid });
      expect(rotated.signer.kid).not.toBe(oldKid);
      // Until its key activation loop runs, the registry signs with the key it loaded.
      expect(kidOf((await refresh(agent, before.refreshToken)).body.access_token)).toBe(oldKid);

      vi.advanceTimersByTime(30_000);
      newToken = await vi.waitFor(async () => {
        const refreshed = await refresh(agent, before.refreshToken);
        expect(kidOf(refreshed.body.access_token)).toBe(rotated.signer.kid);
        return refreshed.body.access_token as string;
      });
    } finally {
      vi.useRealTimers();
      await test.registry.stop();
    }

    // Both keys are published: tokens of either verify, with an independent library too.
    const keys = await jwks();
    expect(keys.keys.map((key: { kid: string }) => key.kid)).toEqual([rotated.signer.kid, oldKid]);
    for (const token of [before.accessToken, newToken]) {
      await expect(
        jwtVerify(token, createLocalJWKSet(keys), {
          issuer: PUBLIC_URL,
          currentDate: test.clock.now(),
        }),
      ).resolves.toBeDefined();
      expect((await introspect(test.registry.app, apiKey, token)).body.active).toBe(true);
    }
    // The retired key is kept beside the new one, as private as the key file.
    expect((await stat(rotated.retiredPath)).mode & 0o777).toBe(0o600);
    // The switch is audited once.
    const events = await auditEvents(test, {
      type: "signing_key.rotated",
      subject: rotated.signer.kid,
    });
    expect(events.map((entry) => entry.event)).toEqual([
      expect.objectContaining({
        actor: "system",
        data: { kid: rotated.signer.kid, retired_kids: [oldKid] },
      }),
    ]);

    // Once every token the old key signed has expired, it leaves the JWKS.
    test.clock.advance(SIGNING_KEY_RETENTION_SECONDS);
    expect((await jwks()).keys.map((key: { kid: string }) => key.kid)).toEqual([
      rotated.signer.kid,
    ]);
  });

  it("refuses a KMS signer, a key file that does not exist, and a bad configuration", async () => {
    await expect(
      rotateSigningKey({ SIGNER: "kms", KMS_KEY_ID: "alias/tokens", AWS_REGION: "eu-west-1" }),
    ).rejects.toThrow(/^SIGNER=kms: the key lives in AWS KMS/);
    await expect(
      rotateSigningKey({ SIGNING_KEY_FILE: join(tmpdir(), "agentauth-no-such-dir", "key.pem") }),
    ).rejects.toMatchObject({ code: "ERR_UNAVAILABLE", details: { reason: "KEY_FILE_MISSING" } });
    await expect(rotateSigningKey({ SIGNER: "hsm" })).rejects.toBeInstanceOf(ConfigError);
  });
});

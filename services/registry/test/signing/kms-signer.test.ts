import { createHash, type KeyObject, verify } from "node:crypto";
import { DescribeKeyCommand, SignCommand } from "@aws-sdk/client-kms";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKmsSigner } from "../../src/signing/kms-signer.js";
import {
  type FakeKmsKey,
  type FakeKmsServer,
  startFakeKmsServer,
} from "../support/fake-kms-server.js";
import { issueTestToken, jwksEntry, verifyWithCore, verifyWithJose } from "./token-fixtures.js";

let kms: FakeKmsServer;

beforeAll(async () => {
  kms = await startFakeKmsServer();
});

afterAll(async () => {
  await kms.close();
});

function signRequests() {
  return kms.requests.filter((request) => request.operation === "Sign");
}

function publicKeyOf(key: FakeKmsKey): KeyObject {
  if (key.publicKey === undefined) throw new Error("The fake key has no public key");
  return key.publicKey;
}

function signingInputOf(token: string): string {
  return token.split(".").slice(0, 2).join(".");
}

describe("fake KMS server", () => {
  // Guards the fake itself, so the signer tests below can fail for the right reasons.
  it("signs DIGEST messages with real ECDSA the public key verifies, in DER", async () => {
    const key = kms.createKey();
    const message = Buffer.from("hello KMS");
    const response = await kms.createClient().send(
      new SignCommand({
        KeyId: key.keyId,
        Message: createHash("sha256").update(message).digest(),
        MessageType: "DIGEST",
        SigningAlgorithm: "ECDSA_SHA_256",
      }),
    );
    const der = response.Signature as Uint8Array;
    expect(der[0]).toBe(0x30);
    expect(response.KeyId).toBe(key.arn);
    expect(verify("sha256", message, publicKeyOf(key), der)).toBe(true);
    expect(verify("sha256", Buffer.from("other"), publicKeyOf(key), der)).toBe(false);
  });

  it("refuses RAW messages over 4096 bytes, as KMS does", async () => {
    const key = kms.createKey();
    const sign = (size: number) =>
      kms.createClient().send(
        new SignCommand({
          KeyId: key.keyId,
          Message: new Uint8Array(size),
          MessageType: "RAW",
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      );
    await expect(sign(4096)).resolves.toMatchObject({ SigningAlgorithm: "ECDSA_SHA_256" });
    await expect(sign(4097)).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("answers unknown keys with a NotFoundException the client recognises", async () => {
    const error = await kms
      .createClient()
      .send(new DescribeKeyCommand({ KeyId: "alias/nothing-here" }))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      name: "NotFoundException",
      $fault: "client",
      $metadata: { httpStatusCode: 400 },
    });
  });
});

describe("createKmsSigner", () => {
  it("signs tokens that jose and core verify with the published JWKS entry", async () => {
    const key = kms.createKey();
    const signer = await createKmsSigner(kms.createClient(), key.keyId);

    const publicJwk = publicKeyOf(key).export({ format: "jwk" });
    expect(signer.publicJwk).toEqual({ kty: "EC", crv: "P-256", x: publicJwk.x, y: publicJwk.y });
    expect(signer.kid).toBe(await jose.calculateJwkThumbprint(publicJwk as jose.JWK, "sha256"));
    expect(signer).toMatchObject({ alg: "ES256", keyArn: key.arn });

    const token = await issueTestToken(signer);
    const jwks = { keys: [jwksEntry(signer)] };
    const { protectedHeader, payload } = await verifyWithJose(token, jwks);
    expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt", kid: signer.kid });
    expect(payload.sub).toBe("agent_1");
    await expect(verifyWithCore(token, jwks)).resolves.toMatchObject({ kid: signer.kid });
  });

  it("sends KMS only the SHA-256 digest (MessageType DIGEST), by the resolved key ARN", async () => {
    const key = kms.createKey();
    const signer = await createKmsSigner(kms.createClient(), key.keyId);
    const before = signRequests().length;

    const token = await issueTestToken(signer);

    const sent = signRequests().slice(before);
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request?.headers["content-type"]).toBe("application/x-amz-json-1.1");
    expect(request?.headers["x-amz-target"]).toBe("TrentService.Sign");
    expect(request?.body).toEqual({
      KeyId: key.arn,
      Message: createHash("sha256").update(signingInputOf(token)).digest("base64"),
      MessageType: "DIGEST",
      SigningAlgorithm: "ECDSA_SHA_256",
    });
  });

  it("signs tokens far larger than KMS's 4096-byte message limit", async () => {
    const signer = await createKmsSigner(kms.createClient(), kms.createKey().keyId);
    const token = await issueTestToken(signer, { extraCapabilities: 60 });
    expect(signingInputOf(token).length).toBeGreaterThan(4096);
    await expect(verifyWithJose(token, { keys: [jwksEntry(signer)] })).resolves.toBeDefined();
  });

  it("resolves an alias once, so re-pointing it cannot change the key behind the kid", async () => {
    const first = kms.createKey({ alias: "alias/agentauth-tokens" });
    const signer = await createKmsSigner(kms.createClient(), "alias/agentauth-tokens");
    expect(signer.keyArn).toBe(first.arn);

    kms.setAlias("alias/agentauth-tokens", kms.createKey().keyId);
    const token = await issueTestToken(signer);

    await expect(verifyWithJose(token, { keys: [jwksEntry(signer)] })).resolves.toBeDefined();
    expect(signRequests().at(-1)?.body.KeyId).toBe(first.arn);
  });

  it.each([
    ["an ECC_NIST_P384 signing key", { keySpec: "ECC_NIST_P384" }],
    ["an RSA_2048 signing key", { keySpec: "RSA_2048" }],
    ["an RSA_2048 encryption key", { keySpec: "RSA_2048", keyUsage: "ENCRYPT_DECRYPT" }],
    ["a symmetric key", { keySpec: "SYMMETRIC_DEFAULT" }],
  ] as const)("refuses %s, before fetching anything else", async (_label, options) => {
    const key = kms.createKey(options);
    const before = kms.requests.length;

    const error = await createKmsSigner(kms.createClient(), key.keyId).catch((caught) => caught);

    expect(error).toMatchObject({
      name: "RegistryError",
      code: "ERR_UNAVAILABLE",
      details: { reason: "KMS_KEY_UNSUITABLE", keySpec: options.keySpec },
    });
    expect(error.message).toContain(key.keyId);
    expect(error.message).toContain("ECC_NIST_P256");
    expect(error.message).toContain("SIGN_VERIFY");
    expect(kms.requests.slice(before).map((request) => request.operation)).toEqual(["DescribeKey"]);
  });

  it("explains an unknown key without AWS's message or request details", async () => {
    const keyId = "2f9c0a4e-1111-4222-8333-944445555666";

    const error = await createKmsSigner(kms.createClient(), keyId).catch((caught) => caught);

    expect(error).toMatchObject({
      name: "RegistryError",
      code: "ERR_UNAVAILABLE",
      details: {
        reason: "KMS_KEY_NOT_FOUND",
        operation: "DescribeKey",
        awsError: "NotFoundException",
      },
    });
    expect(error.message).toBe(
      `AWS KMS DescribeKey failed for the key ${keyId}: no such key in this account and region`,
    );
    expect(error.cause).toBeUndefined();
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain("arn:aws");
  });

  it("refuses a disabled key at start-up", async () => {
    const key = kms.createKey({ enabled: false });
    const error = await createKmsSigner(kms.createClient(), key.keyId).catch((caught) => caught);
    expect(error).toMatchObject({
      code: "ERR_UNAVAILABLE",
      details: { reason: "KMS_KEY_DISABLED", keyState: "Disabled" },
    });
    expect(error.message).toContain("its state is Disabled");
  });

  it("fails signing with a generic coded error when the key is disabled later", async () => {
    const key = kms.createKey();
    const signer = await createKmsSigner(kms.createClient(), key.keyId);
    kms.setEnabled(key.keyId, false);

    const error = await issueTestToken(signer).catch((caught) => caught);

    expect(error).toMatchObject({
      code: "ERR_UNAVAILABLE",
      details: { reason: "KMS_KEY_DISABLED", operation: "Sign", awsError: "DisabledException" },
    });
    expect(error.message).toBe(
      "Tokens cannot be signed now: AWS KMS Sign failed (KMS_KEY_DISABLED)",
    );
    expect(error.message).not.toContain(key.keyId);
  });

  it.each([
    ["ThrottlingException", 400, "KMS_THROTTLED"],
    ["KMSInternalException", 500, "KMS_UNAVAILABLE"],
    ["AccessDeniedException", 400, "KMS_ACCESS_DENIED"],
  ] as const)("maps %s at signing time to %s", async (type, status, reason) => {
    const signer = await createKmsSigner(kms.createClient(), kms.createKey().keyId);
    kms.failNext("Sign", { type, status, message: "request-id-1234 principal arn:aws:iam::1:x" });

    const error = await issueTestToken(signer).catch((caught) => caught);

    expect(error).toMatchObject({ code: "ERR_UNAVAILABLE", details: { reason, awsError: type } });
    expect(JSON.stringify({ ...error, message: error.message })).not.toMatch(/request-id|arn:aws/);
    // The signer recovers with KMS.
    await expect(issueTestToken(signer)).resolves.toMatch(/^ey/);
  });

  it("reports an unreachable KMS as unavailable", async () => {
    const unreachable = await startFakeKmsServer();
    const client = unreachable.createClient();
    await unreachable.close();

    await expect(createKmsSigner(client, "any-key")).rejects.toMatchObject({
      code: "ERR_UNAVAILABLE",
      details: { reason: "KMS_UNAVAILABLE", operation: "DescribeKey" },
    });
  });

  it("rejects an empty key id as a programming error", async () => {
    await expect(createKmsSigner(kms.createClient(), "")).rejects.toBeInstanceOf(TypeError);
  });
});

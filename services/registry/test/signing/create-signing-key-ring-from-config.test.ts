import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createSigningKeyRingFromConfig } from "../../src/signing/create-signing-key-ring-from-config.js";
import { createFileSigner, rotateFileSigningKey } from "../../src/signing/file-signer.js";
import { createKmsSigner } from "../../src/signing/kms-signer.js";
import { describeEachDatabase } from "../support/databases.js";
import { type FakeKmsServer, startFakeKmsServer } from "../support/fake-kms-server.js";
import { issueTestToken, verifyWithCore } from "./token-fixtures.js";

// The signer as `SIGNER` configures it, as `main.ts` and the embedded platform wire it.
describeEachDatabase("createSigningKeyRingFromConfig", (database) => {
  let directory: string;
  let kms: FakeKmsServer;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "agentauth-configured-ring-"));
    kms = await startFakeKmsServer();
  });

  afterAll(async () => {
    await kms.close();
    await rm(directory, { recursive: true, force: true });
  });

  const now = () => new Date();

  it("uses the key file, resolved against the working directory, and reloads it after a rotation", async () => {
    const file = join(directory, "file-ring", "signing-key.pem");
    const ring = await createSigningKeyRingFromConfig({
      signer: { kind: "file", path: relative(process.cwd(), file) },
      db: database.db(),
      now,
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const first = (await createFileSigner(file)).kid;
    expect(ring.signer.kid).toBe(first);
    await ring.activate();
    const token = await issueTestToken(ring.signer);
    await expect(verifyWithCore(token, await ring.jwks())).resolves.toMatchObject({ kid: first });

    const rotated = await rotateFileSigningKey(file);
    expect(ring.signer.kid).toBe(first);
    await ring.activate();
    expect(ring.signer.kid).toBe(rotated.signer.kid);
    // The old key stays in the JWKS for the tokens it signed.
    expect((await ring.jwks()).keys.map((key) => key.kid)).toEqual(
      expect.arrayContaining([first, rotated.signer.kid]),
    );
  });

  it("uses the KMS key in the configured region and endpoint, credentials from the AWS chain", async () => {
    const key = kms.createKey();
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    // The fake checks SigV4 with these; the SDK's default chain reads them from the environment.
    process.env.AWS_ACCESS_KEY_ID = "AKIAFAKEKMSTESTKEY00";
    process.env.AWS_SECRET_ACCESS_KEY = "fake-secret";
    try {
      const seen = kms.requests.length;
      const ring = await createSigningKeyRingFromConfig({
        signer: { kind: "kms", keyId: key.keyId, region: kms.region, endpoint: kms.endpoint },
        db: database.db(),
        now,
      });
      expect(ring.signer.kid).toBe((await createKmsSigner(kms.createClient(), key.keyId)).kid);
      await ring.activate();
      const token = await issueTestToken(ring.signer);
      await expect(verifyWithCore(token, await ring.jwks())).resolves.toMatchObject({
        kid: ring.signer.kid,
      });
      expect(kms.requests.slice(seen).map((request) => request.operation)).toEqual(
        expect.arrayContaining(["GetPublicKey", "Sign"]),
      );
    } finally {
      for (const [name, value] of [
        ["AWS_ACCESS_KEY_ID", saved.id],
        ["AWS_SECRET_ACCESS_KEY", saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("fails with the signer's coded error when the KMS key does not exist", async () => {
    await expect(
      createSigningKeyRingFromConfig({
        signer: { kind: "kms", keyId: "alias/missing", region: kms.region, endpoint: kms.endpoint },
        db: database.db(),
        now,
      }),
    ).rejects.toMatchObject({ code: "ERR_UNAVAILABLE" });
  });
});

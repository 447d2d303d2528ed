import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonWebKeySet } from "@agentauth/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createFileSigner, rotateFileSigningKey } from "../../src/signing/file-signer.js";
import type { JwkSigner } from "../../src/signing/jwk-signer.js";
import { createKmsSigner } from "../../src/signing/kms-signer.js";
import { createMemorySigningKeyStore } from "../../src/signing/memory-signing-key-store.js";
import { createPgSigningKeyStore } from "../../src/signing/pg-signing-key-store.js";
import {
  createSigningKeyRing,
  SIGNING_KEY_RETENTION_SECONDS,
} from "../../src/signing/signing-key-ring.js";
import type { SigningKeyStore } from "../../src/signing/signing-key-store.js";
import { describeEachDatabase } from "../support/databases.js";
import { type FakeKmsServer, startFakeKmsServer } from "../support/fake-kms-server.js";
import { issueTestToken, NOW, verifyWithCore, verifyWithJose } from "./token-fixtures.js";

let directory: string;
let kms: FakeKmsServer;
let files = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "agentauth-key-ring-"));
  kms = await startFakeKmsServer();
});

afterAll(async () => {
  await kms.close();
  await rm(directory, { recursive: true, force: true });
});

function newKeyPath(): string {
  files += 1;
  return join(directory, `registry-${files}`, "signing-key.pem");
}

/** A frozen clock the test moves by hand. */
function createTestClock() {
  let current = NOW;
  return {
    now: () => current,
    advance(seconds: number) {
      current = new Date(current.getTime() + seconds * 1000);
    },
  };
}

/** Verifies `token` with both core and jose against `keys`, at `now`. */
async function expectVerifies(token: string, keys: JsonWebKeySet, now: Date): Promise<void> {
  await expect(verifyWithCore(token, keys, now)).resolves.toBeDefined();
  await expect(verifyWithJose(token, keys, now)).resolves.toBeDefined();
}

function kidsOf(keys: JsonWebKeySet): unknown[] {
  return keys.keys.map((key) => key.kid);
}

/** The key ring's behaviour on one store; `makeStore` gives an empty one for each test. */
function signingKeyRingBehaviour(makeStore: () => Promise<SigningKeyStore>): void {
  let store: SigningKeyStore;
  let clock: ReturnType<typeof createTestClock>;

  beforeEach(async () => {
    store = await makeStore();
    clock = createTestClock();
  });

  const ringFor = (signer: JwkSigner) => createSigningKeyRing({ signer, store, now: clock.now });
  /** A ring that reloads the key file at `path` on each activation, as `main.ts` has it. */
  const reloadingRingFor = async (path: string) =>
    createSigningKeyRing({
      signer: await createFileSigner(path),
      reloadSigner: () => createFileSigner(path),
      store,
      now: clock.now,
    });

  it("publishes the active key with kid, alg and use, and its tokens verify", async () => {
    const signer = await createFileSigner(newKeyPath());
    const ring = ringFor(signer);
    await ring.activate();

    const keys = await ring.jwks();

    expect(keys).toEqual({
      keys: [{ ...signer.publicJwk, kid: signer.kid, alg: "ES256", use: "sig" }],
    });
    await expectVerifies(
      await issueTestToken(ring.signer, { now: clock.now() }),
      keys,
      clock.now(),
    );
  });

  it("refuses to sign before the key is published", async () => {
    const ring = ringFor(await createFileSigner(newKeyPath()));
    await expect(ring.signer.sign(new Uint8Array(1))).rejects.toBeInstanceOf(TypeError);
    expect(await ring.jwks()).toEqual({ keys: [] });
  });

  it("keeps publishing the same key across restarts", async () => {
    const path = newKeyPath();
    const first = ringFor(await createFileSigner(path));
    await first.activate();
    clock.advance(3600);
    const restarted = ringFor(await createFileSigner(path));
    await restarted.activate();
    clock.advance(3600);

    expect(kidsOf(await restarted.jwks())).toEqual([first.signer.kid]);
  });

  it("rotates a key file: both keys verify until the old key's tokens have expired", async () => {
    const path = newKeyPath();
    const before = ringFor(await createFileSigner(path));
    await before.activate();
    clock.advance(600);

    const { signer: newSigner, retiredKid } = await rotateFileSigningKey(path);
    expect(retiredKid).toBe(before.signer.kid);
    // The old process signs one last token as the new one starts.
    const oldToken = await issueTestToken(before.signer, {
      now: clock.now(),
      lifetimeSeconds: 900,
    });
    const after = ringFor(await createFileSigner(path));
    expect(after.signer.kid).toBe(newSigner.kid);
    await after.activate();
    const newToken = await issueTestToken(after.signer, { now: clock.now() });

    const keys = await after.jwks();
    expect(kidsOf(keys)).toEqual([newSigner.kid, retiredKid]);
    await expectVerifies(oldToken, keys, clock.now());
    await expectVerifies(newToken, keys, clock.now());

    // The old token lives 900 s; its key is served through the last second of that and beyond.
    clock.advance(899);
    await expectVerifies(oldToken, await after.jwks(), clock.now());
    clock.advance(SIGNING_KEY_RETENTION_SECONDS - 899 - 1);
    expect(kidsOf(await after.jwks())).toEqual([newSigner.kid, retiredKid]);

    clock.advance(1);
    const later = await after.jwks();
    expect(kidsOf(later)).toEqual([newSigner.kid]);
    await expect(verifyWithCore(oldToken, later, NOW)).rejects.toMatchObject({
      code: "ERR_TOKEN_KID_UNKNOWN",
    });
    await expect(verifyWithJose(oldToken, later, NOW)).rejects.toMatchObject({
      code: "ERR_JWKS_NO_MATCHING_KEY",
    });
  });

  it("reloads a rotated key file on activation: publishes the new key, then signs with it", async () => {
    const path = newKeyPath();
    const ring = await reloadingRingFor(path);
    await ring.activate();
    const oldKid = ring.signer.kid;
    const oldToken = await issueTestToken(ring.signer, { now: clock.now() });

    const { signer: rotated } = await rotateFileSigningKey(path);
    expect(ring.signer.kid).toBe(oldKid);
    clock.advance(30);
    await ring.activate();
    expect(ring.signer.kid).toBe(rotated.kid);
    expect(ring.signer.publicJwk).toEqual(rotated.publicJwk);
    const newToken = await issueTestToken(ring.signer, { now: clock.now() });

    const keys = await ring.jwks();
    expect(kidsOf(keys)).toEqual([rotated.kid, oldKid]);
    await expectVerifies(oldToken, keys, clock.now());
    await expectVerifies(newToken, keys, clock.now());
  });

  it("keeps signing with its key when reloading the key file fails", async () => {
    const path = newKeyPath();
    const ring = await reloadingRingFor(path);
    await ring.activate();
    await chmod(path, 0o644);
    await expect(ring.activate()).rejects.toMatchObject({
      details: { reason: "KEY_FILE_INSECURE" },
    });
    await expectVerifies(
      await issueTestToken(ring.signer, { now: clock.now() }),
      await ring.jwks(),
      clock.now(),
    );
  });

  it("rotates a KMS key: tokens of both keys verify with jose against the JWKS", async () => {
    const oldRing = ringFor(await createKmsSigner(kms.createClient(), kms.createKey().keyId));
    await oldRing.activate();
    const oldToken = await issueTestToken(oldRing.signer, { now: clock.now() });
    clock.advance(60);

    const newRing = ringFor(await createKmsSigner(kms.createClient(), kms.createKey().keyId));
    await newRing.activate();
    const newToken = await issueTestToken(newRing.signer, { now: clock.now() });

    const keys = await newRing.jwks();
    expect(kidsOf(keys)).toEqual([newRing.signer.kid, oldRing.signer.kid]);
    await expectVerifies(oldToken, keys, clock.now());
    await expectVerifies(newToken, keys, clock.now());

    clock.advance(SIGNING_KEY_RETENTION_SECONDS);
    expect(kidsOf(await oldRing.jwks())).toEqual([newRing.signer.kid]);
  });

  it("keeps a key published while a replica still signs with it (rolling rotation)", async () => {
    const oldReplica = ringFor(await createFileSigner(newKeyPath()));
    const newReplica = ringFor(await createFileSigner(newKeyPath()));
    await oldReplica.activate();

    // Both run for longer than the retention: each heartbeat puts its own key back in service.
    for (let minute = 0; minute < 20; minute++) {
      await newReplica.activate();
      clock.advance(30);
      await oldReplica.activate();
      clock.advance(30);
    }
    const lastOldToken = await issueTestToken(oldReplica.signer, { now: clock.now() });
    expect(kidsOf(await newReplica.jwks()).sort()).toEqual(
      [oldReplica.signer.kid, newReplica.signer.kid].sort(),
    );

    // The old replica stops; the new one's next heartbeat retires its key.
    clock.advance(29);
    await newReplica.activate();
    clock.advance(900);
    await expectVerifies(
      lastOldToken,
      await newReplica.jwks(),
      new Date(clock.now().getTime() - 30_000),
    );
    clock.advance(SIGNING_KEY_RETENTION_SECONDS - 900);
    expect(kidsOf(await newReplica.jwks())).toEqual([newReplica.signer.kid]);
  });

  it("refuses a retention shorter than the longest token lifetime", () => {
    const signer = { kid: "k", alg: "ES256" } as JwkSigner;
    expect(() =>
      createSigningKeyRing({ signer, store, now: clock.now, retentionSeconds: 899 }),
    ).toThrow(TypeError);
  });
}

describe("signing key ring (memory store)", () => {
  signingKeyRingBehaviour(async () => createMemorySigningKeyStore());
});

describeEachDatabase("signing key ring (signing_keys table)", (database) => {
  signingKeyRingBehaviour(async () => {
    await database.db().deleteFrom("signing_keys").execute();
    return createPgSigningKeyStore(database.db());
  });
});

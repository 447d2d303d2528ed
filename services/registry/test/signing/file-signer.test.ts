import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  verify,
} from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileSigner, rotateFileSigningKey } from "../../src/signing/file-signer.js";
import { issueTestToken, jwksEntry, verifyWithCore, verifyWithJose } from "./token-fixtures.js";

let root: string;
let count = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "agentauth-file-signer-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh, not yet existing key path in a not yet existing directory. */
function freshKeyPath(): string {
  count += 1;
  return join(root, `case-${count}`, "registry", "signing-key.pem");
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function writeKeyFile(path: string, pem: string, mode: number): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, pem, { mode });
  await chmod(path, mode);
}

function p256Pem(): string {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return privateKey.export({ type: "pkcs8", format: "pem" }) as string;
}

describe("createFileSigner", () => {
  it("creates a PKCS#8 P-256 key with mode 0600 on first use, directory included", async () => {
    const path = freshKeyPath();

    const signer = await createFileSigner(path);

    expect(await modeOf(path)).toBe(0o600);
    const pem = await readFile(path, "utf8");
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const publicJwk = createPublicKey(pem).export({ format: "jwk" });
    expect(publicJwk.crv).toBe("P-256");
    expect(signer.publicJwk).toEqual({ kty: "EC", crv: "P-256", x: publicJwk.x, y: publicJwk.y });
    // Only the key file: no temporary file left behind.
    expect(await readdir(join(path, ".."))).toEqual(["signing-key.pem"]);
  });

  it("uses the RFC 7638 thumbprint of the public key as kid", async () => {
    const signer = await createFileSigner(freshKeyPath());
    expect(signer.alg).toBe("ES256");
    expect(signer.kid).toBe(await jose.calculateJwkThumbprint(signer.publicJwk, "sha256"));
  });

  it("loads the same key on every restart, never a new one", async () => {
    const path = freshKeyPath();
    const first = await createFileSigner(path);
    const pem = await readFile(path, "utf8");

    const restarted = await createFileSigner(path);
    const restartedAgain = await createFileSigner(path);

    expect(restarted.kid).toBe(first.kid);
    expect(restartedAgain.publicJwk).toEqual(first.publicJwk);
    expect(await readFile(path, "utf8")).toBe(pem);
    // A token signed before the restart verifies with the key published after it.
    const token = await issueTestToken(first);
    await expect(verifyWithJose(token, { keys: [jwksEntry(restarted)] })).resolves.toBeDefined();
  });

  it("loads a P-256 key the operator provides", async () => {
    const path = freshKeyPath();
    const pem = p256Pem();
    await writeKeyFile(path, pem, 0o600);

    const signer = await createFileSigner(path);

    const expected = createPublicKey(pem).export({ format: "jwk" });
    expect(signer.kid).toBe(await jose.calculateJwkThumbprint(expected as jose.JWK, "sha256"));
    expect(await readFile(path, "utf8")).toBe(pem);
  });

  it("signs JOSE-form ES256 signatures that core, jose and node:crypto verify", async () => {
    const signer = await createFileSigner(freshKeyPath());
    const jwks = { keys: [jwksEntry(signer)] };

    const token = await issueTestToken(signer);
    await expect(verifyWithCore(token, jwks)).resolves.toMatchObject({ kid: signer.kid });
    await expect(verifyWithJose(token, jwks)).resolves.toMatchObject({
      protectedHeader: { alg: "ES256", typ: "at+jwt", kid: signer.kid },
    });

    const data = new TextEncoder().encode("any bytes");
    const signature = await signer.sign(data);
    expect(signature).toHaveLength(64);
    const key = createPublicKey({ key: signer.publicJwk as JsonWebKey, format: "jwk" });
    expect(verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
    expect(
      verify("sha256", Buffer.from("other"), { key, dsaEncoding: "ieee-p1363" }, signature),
    ).toBe(false);
  });

  it.each(["0644", "0640", "0604", "0620", "0602"])(
    "refuses a key file with mode %s, naming the file and the fix",
    async (octal) => {
      const path = freshKeyPath();
      await writeKeyFile(path, p256Pem(), Number.parseInt(octal, 8));

      const error = await createFileSigner(path).catch((caught) => caught);

      expect(error).toMatchObject({
        name: "RegistryError",
        code: "ERR_UNAVAILABLE",
        details: { reason: "KEY_FILE_INSECURE", mode: octal },
      });
      expect(error.message).toContain(path);
      expect(error.message).toContain(`chmod 600 ${path}`);
    },
  );

  it("accepts a key file only its owner can read (0400)", async () => {
    const path = freshKeyPath();
    await writeKeyFile(path, p256Pem(), 0o400);
    await expect(createFileSigner(path)).resolves.toMatchObject({ alg: "ES256" });
  });

  it.each([
    [
      "a P-384 key",
      () =>
        generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({
          type: "pkcs8",
          format: "pem",
        }),
    ],
    [
      "an Ed25519 key",
      () => generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }),
    ],
    ["a public key", () => createPublicKey(p256Pem()).export({ type: "spki", format: "pem" })],
    ["an empty file", () => ""],
    ["garbage", () => "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"],
  ])("refuses %s without echoing the file's content", async (_label, content) => {
    const path = freshKeyPath();
    const pem = String(content());
    await writeKeyFile(path, pem, 0o600);

    const error = await createFileSigner(path).catch((caught) => caught);

    expect(error).toMatchObject({
      code: "ERR_UNAVAILABLE",
      details: { reason: "KEY_FILE_INVALID" },
    });
    expect(error.message).toContain(path);
    expect(error.cause).toBeUndefined();
    const body = pem.split("\n")[1];
    if (body) expect(error.message).not.toContain(body);
  });

  it("refuses a directory where the key file should be", async () => {
    const path = freshKeyPath();
    await mkdir(path, { recursive: true });
    await expect(createFileSigner(path)).rejects.toMatchObject({
      details: { reason: "KEY_FILE_INVALID" },
    });
  });

  // Root ignores directory permissions: there is nothing to observe then.
  it.skipIf(process.getuid?.() === 0)(
    "reports an unwritable directory as a coded I/O error",
    async () => {
      const directory = join(root, `read-only-${++count}`);
      await mkdir(directory, { mode: 0o500 });
      const path = join(directory, "signing-key.pem");

      await expect(createFileSigner(path)).rejects.toMatchObject({
        code: "ERR_UNAVAILABLE",
        details: { reason: "KEY_FILE_IO", errno: "EACCES" },
      });
    },
  );

  it("creates exactly one key when many start at once", async () => {
    // Every attempt runs its file system calls on libuv's thread pool, in parallel: the same
    // race as separate processes starting together.
    for (let round = 0; round < 10; round++) {
      const path = freshKeyPath();
      const signers = await Promise.all(Array.from({ length: 12 }, () => createFileSigner(path)));

      const kids = new Set(signers.map((signer) => signer.kid));
      expect(kids.size).toBe(1);
      expect(await readdir(join(path, ".."))).toEqual(["signing-key.pem"]);
      const restarted = await createFileSigner(path);
      expect(restarted.kid).toBe(signers[0]?.kid);
    }
  });

  it("keeps the private key inside: only kid, alg, publicJwk and sign are visible", async () => {
    const path = freshKeyPath();
    const signer = await createFileSigner(path);
    const privateD = createPrivateKey(await readFile(path, "utf8")).export({ format: "jwk" })
      .d as string;

    expect(Object.keys(signer).sort()).toEqual(["alg", "kid", "publicJwk", "sign"]);
    expect(Object.isFrozen(signer)).toBe(true);
    expect(JSON.stringify(signer)).not.toContain(privateD);
    expect(inspect(signer, { showHidden: true, depth: Number.POSITIVE_INFINITY })).not.toContain(
      privateD,
    );
  });

  it("rejects an empty path as a programming error", async () => {
    await expect(createFileSigner("")).rejects.toBeInstanceOf(TypeError);
  });
});

describe("rotateFileSigningKey", () => {
  it("keeps the old key beside the new one, named by its kid, both 0600", async () => {
    const path = freshKeyPath();
    const old = await createFileSigner(path);
    const oldPem = await readFile(path, "utf8");

    const rotated = await rotateFileSigningKey(path);

    expect(rotated.retiredKid).toBe(old.kid);
    expect(rotated.retiredPath).toBe(join(path, "..", `signing-key.${old.kid}.pem`));
    expect(rotated.signer.kid).not.toBe(old.kid);
    expect(await readFile(rotated.retiredPath, "utf8")).toBe(oldPem);
    expect(await modeOf(rotated.retiredPath)).toBe(0o600);
    expect(await modeOf(path)).toBe(0o600);
    expect((await readdir(join(path, ".."))).sort()).toEqual(
      ["signing-key.pem", `signing-key.${old.kid}.pem`].sort(),
    );
    // The next start loads the new key; the retired one still loads from where it was kept.
    expect((await createFileSigner(path)).kid).toBe(rotated.signer.kid);
    expect((await createFileSigner(rotated.retiredPath)).kid).toBe(old.kid);
  });

  it("rotates again and again, keeping every retired key", async () => {
    const path = freshKeyPath();
    const kids = [(await createFileSigner(path)).kid];
    for (let index = 0; index < 3; index++)
      kids.push((await rotateFileSigningKey(path)).signer.kid);

    expect(new Set(kids).size).toBe(4);
    const files = await readdir(join(path, ".."));
    for (const kid of kids.slice(0, 3)) expect(files).toContain(`signing-key.${kid}.pem`);
  });

  it("refuses to rotate a key file that does not exist", async () => {
    const path = freshKeyPath();
    await expect(rotateFileSigningKey(path)).rejects.toMatchObject({
      details: { reason: "KEY_FILE_MISSING" },
    });
  });

  it("refuses to rotate an insecure key file", async () => {
    const path = freshKeyPath();
    await writeKeyFile(path, p256Pem(), 0o644);
    await expect(rotateFileSigningKey(path)).rejects.toMatchObject({
      details: { reason: "KEY_FILE_INSECURE" },
    });
  });
});

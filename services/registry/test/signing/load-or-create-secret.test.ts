import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateSecret } from "../../src/signing/load-or-create-secret.js";

let root: string;
let count = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "agentauth-secret-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh, not yet existing secret path in a not yet existing directory. */
function freshPath(): string {
  count += 1;
  return join(root, `case-${count}`, "registry", "dpop-nonce-secret");
}

async function writeSecretFile(path: string, text: string, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, { mode });
  await chmod(path, mode);
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("loadOrCreateSecret", () => {
  it("makes a 32-byte secret once, mode 0600 in a 0700 directory, and reads the same one after", async () => {
    const path = freshPath();
    const secret = await loadOrCreateSecret(path);
    expect(secret).toBeInstanceOf(Uint8Array);
    expect(secret).toHaveLength(32);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(path))).mode & 0o777).toBe(0o700);
    expect((await readFile(path, "utf8")).trim()).toBe(hex(secret));
    expect(hex(await loadOrCreateSecret(path))).toBe(hex(secret));
    // No temporary file is left beside it.
    expect(await readdir(dirname(path))).toEqual(["dpop-nonce-secret"]);
  });

  it("gives every one of many concurrent first starts the same secret", async () => {
    const path = freshPath();
    const secrets = await Promise.all(Array.from({ length: 12 }, () => loadOrCreateSecret(path)));
    expect(new Set(secrets.map(hex)).size).toBe(1);
    expect(await readdir(dirname(path))).toEqual(["dpop-nonce-secret"]);
  });

  it("reads a secret written before, with a trailing newline, in either case of hex", async () => {
    const path = freshPath();
    const written = "AB".repeat(20) + "cd".repeat(20);
    await writeSecretFile(path, `${written}\n`);
    expect(hex(await loadOrCreateSecret(path))).toBe(written.toLowerCase());
  });

  it("makes and wants as many bytes as asked", async () => {
    const path = freshPath();
    expect(await loadOrCreateSecret(path, { bytes: 64 })).toHaveLength(64);
    const short = freshPath();
    await writeSecretFile(short, "ab".repeat(32));
    await expect(loadOrCreateSecret(short, { bytes: 64 })).rejects.toMatchObject({
      details: { reason: "KEY_FILE_INVALID" },
    });
  });

  it.each(["0644", "0640", "0604", "0660"])(
    "refuses a secret file with mode %s, naming the file and the fix",
    async (octal) => {
      const path = freshPath();
      await writeSecretFile(path, "ab".repeat(32), Number.parseInt(octal, 8));
      const error = await loadOrCreateSecret(path, { what: "DPoP nonce secret" }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({
        name: "RegistryError",
        code: "ERR_UNAVAILABLE",
        details: { reason: "KEY_FILE_INSECURE", mode: octal },
      });
      const message = (error as Error).message;
      expect(message).toContain(`The DPoP nonce secret file ${path}`);
      expect(message).toContain(`chmod 600 ${path}`);
      expect(message).not.toContain("ab".repeat(32));
    },
  );

  it.each([
    ["too short", "ab".repeat(31)],
    ["not hex", `${"ab".repeat(31)}zz`],
    ["an odd number of digits", `${"ab".repeat(32)}a`],
    ["empty", ""],
  ])("refuses a file whose secret is %s, without showing it", async (_, text) => {
    const path = freshPath();
    await writeSecretFile(path, text);
    const error = await loadOrCreateSecret(path).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ details: { reason: "KEY_FILE_INVALID" } });
    expect((error as Error).message).toContain(path);
    if (text !== "") expect((error as Error).message).not.toContain(text);
    // The file is left as it was: an operator's file is never replaced.
    expect(await readFile(path, "utf8")).toBe(text);
  });

  it("refuses a directory where the file should be", async () => {
    const path = freshPath();
    await mkdir(path, { recursive: true, mode: 0o700 });
    await expect(loadOrCreateSecret(path)).rejects.toMatchObject({
      details: { reason: "KEY_FILE_INVALID" },
    });
  });

  it("refuses bad arguments as programmer errors", async () => {
    await expect(loadOrCreateSecret("")).rejects.toBeInstanceOf(TypeError);
    await expect(loadOrCreateSecret(freshPath(), { bytes: 8 })).rejects.toBeInstanceOf(TypeError);
    await expect(loadOrCreateSecret(freshPath(), { bytes: 1.5 })).rejects.toBeInstanceOf(TypeError);
  });
});

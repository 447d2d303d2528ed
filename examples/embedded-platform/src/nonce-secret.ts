import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * The registry's DPoP nonce secret of the embedded default, kept where the registry's own
 * `main.ts` keeps it (`<data dir>/registry/dpop-nonce-secret`, mode 0600) so either host reads the
 * same one: made at first start, read at every later one.
 */
export async function loadOrCreateNonceSecret(path: string): Promise<Uint8Array> {
  try {
    const secret = Buffer.from((await readFile(path, "utf8")).trim(), "hex");
    if (secret.length < 32) throw new Error(`The DPoP nonce secret in ${path} is too short`);
    return Uint8Array.from(secret);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const secret = randomBytes(32);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, secret.toString("hex"), { mode: 0o600, flag: "wx" });
    return Uint8Array.from(secret);
  }
}

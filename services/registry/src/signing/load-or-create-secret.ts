import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { publishOwnerOnlyFile, readOwnerOnlyFile } from "./owner-only-file.js";
import { signingError } from "./signing-error.js";

export interface LoadOrCreateSecretOptions {
  /** Bytes of a new secret, and the fewest a file may hold; default 32 (256 bits). */
  readonly bytes?: number;
  /** What the secret is, in error messages; default "secret". */
  readonly what?: string;
}

/**
 * The secret kept in `path` as hex, made on first use (random, `bytes` long) and the same on
 * every later start — the embedded default's DPoP nonce secret, which `main.ts` keeps in
 * `<data dir>/registry/dpop-nonce-secret`. The file is created as the signing key file is
 * (mode 0600, its directory created with mode 0700 if missing, published with `link(2)`, so processes starting together agree
 * on one secret); a file group or others can access is refused (`KEY_FILE_INSECURE`), as is one
 * that does not hold at least `bytes` bytes of hex (`KEY_FILE_INVALID`). Errors never show the
 * secret.
 *
 * @example
 * const secret = await loadOrCreateSecret(".data/registry/dpop-nonce-secret", { what: "DPoP nonce secret" });
 */
export async function loadOrCreateSecret(
  path: string,
  options: LoadOrCreateSecretOptions = {},
): Promise<Uint8Array> {
  if (typeof path !== "string" || path === "") {
    throw new TypeError("loadOrCreateSecret: path must be a non-empty string");
  }
  const bytes = options.bytes ?? 32;
  if (!Number.isSafeInteger(bytes) || bytes < 16 || bytes > 1024) {
    throw new TypeError("loadOrCreateSecret: bytes must be a whole number from 16 to 1024");
  }
  const what = options.what ?? "secret";
  const file = resolve(path);
  // A second pass only happens after losing a creation race; a third, if the winner's file
  // vanished in between.
  for (let attempt = 0; attempt < 3; attempt++) {
    const text = await readOwnerOnlyFile(file, what);
    if (text !== undefined) return parseSecret(text, file, bytes, what);
    await publishOwnerOnlyFile(file, randomBytes(bytes).toString("hex"), what);
  }
  throw signingError("KEY_FILE_IO", `The ${what} file ${file} disappeared while loading it`);
}

function parseSecret(text: string, file: string, bytes: number, what: string): Uint8Array {
  const hex = text.trim();
  if (hex.length < bytes * 2 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw signingError(
      "KEY_FILE_INVALID",
      `The ${what} file ${file} does not hold a secret of at least ${bytes} bytes in hex`,
    );
  }
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

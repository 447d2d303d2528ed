import { createPrivateKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { link, rename, unlink } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import type { JwkSigner } from "./jwk-signer.js";
import {
  errorCode,
  ioError,
  publishOwnerOnlyFile,
  readOwnerOnlyFile,
  syncDirectory,
  writeTemporaryFile,
} from "./owner-only-file.js";
import { describeP256PublicKey, isP256Key } from "./p256-public-key.js";
import { signingError } from "./signing-error.js";

/** The embedded default token signer: a P-256 key in a local file. */
export type FileSigner = JwkSigner;

const WHAT = "signing key";

/**
 * Loads the P-256 private key (PKCS#8 PEM) in `path`, creating it on first use, and signs with it
 * in process (ES256). The same file gives the same key, and `kid`, on every start.
 *
 * Creation is safe when several processes start at once: each writes its candidate key to its
 * own temporary file (`O_EXCL`, mode 0600, synced), then publishes it with `link(2)`, which
 * fails if the key file exists (`rename(2)` would replace it, so two processes could each
 * believe their own key is the key); every process then loads whatever key won. A key file
 * that group or others can access is refused. The private key never leaves this module.
 *
 * @example const signer = await createFileSigner(".data/registry/signing-key.pem");
 */
export async function createFileSigner(path: string): Promise<FileSigner> {
  const file = absolutePath(path);
  // A second pass only happens after losing a creation race; a third, if the winner's file
  // vanished in between (someone deleting keys while we start).
  for (let attempt = 0; attempt < 3; attempt++) {
    const pem = await readKeyFile(file);
    if (pem !== undefined) return signerFor(parsePrivateKey(pem, file));
    await publishOwnerOnlyFile(file, newKeyPem(), WHAT);
  }
  throw signingError("KEY_FILE_IO", `The signing key file ${file} disappeared while loading it`);
}

export interface RotateFileSigningKeyResult {
  /** The new key, now in the key file. */
  readonly signer: FileSigner;
  /** The `kid` of the key that was replaced. */
  readonly retiredKid: string;
  /** Where the replaced key is kept (same directory, named with its `kid`, mode 0600). */
  readonly retiredPath: string;
}

/**
 * Replaces the key in `path` with a new one, keeping the old key beside it as
 * `<name>.<kid><ext>`. The key file is replaced atomically: a process loading it meanwhile gets
 * the old key or the new one, never a partial file. A running registry keeps signing with the
 * key it loaded until its key ring reloads the file (its next activation); then the ring
 * retires the old `kid`, which stays in the JWKS until every token it signed has expired.
 */
export async function rotateFileSigningKey(path: string): Promise<RotateFileSigningKeyResult> {
  const file = absolutePath(path);
  const pem = await readKeyFile(file);
  if (pem === undefined) {
    throw signingError("KEY_FILE_MISSING", `There is no signing key file at ${file} to rotate`);
  }
  const { kid: retiredKid } = await describeP256PublicKey(parsePrivateKey(pem, file));
  const extension = extname(file);
  const retiredPath = `${file.slice(0, file.length - extension.length)}.${retiredKid}${extension}`;
  try {
    // A hard link keeps the very same file (and its verified mode) under the retired name.
    await link(file, retiredPath);
  } catch (error) {
    // Kept already by an interrupted rotation: the name is the key's thumbprint.
    if (errorCode(error) !== "EEXIST")
      throw ioError(`keep the old signing key as ${retiredPath}`, error);
  }
  const temporary = await writeTemporaryFile(file, newKeyPem(), WHAT);
  try {
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw ioError(`replace the signing key file ${file}`, error);
  }
  await syncDirectory(dirname(file));
  return { signer: await createFileSigner(file), retiredKid, retiredPath };
}

function absolutePath(path: string): string {
  if (typeof path !== "string" || path === "") {
    throw new TypeError("The signing key file path must be a non-empty string");
  }
  return resolve(path);
}

/** The file's PEM text, or `undefined` if there is no file; refuses loose permissions. */
function readKeyFile(file: string): Promise<string | undefined> {
  return readOwnerOnlyFile(file, WHAT);
}

function parsePrivateKey(pem: string, file: string): KeyObject {
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    // The parser's error is dropped: it is about the key's bytes.
  }
  if (key === undefined || !isP256Key(key)) {
    throw signingError(
      "KEY_FILE_INVALID",
      `The signing key file ${file} does not hold a P-256 private key in PEM (PKCS#8)`,
    );
  }
  return key;
}

async function signerFor(privateKey: KeyObject): Promise<FileSigner> {
  const { publicJwk, kid } = await describeP256PublicKey(privateKey);
  return Object.freeze({
    kid,
    alg: "ES256" as const,
    publicJwk,
    async sign(data: Uint8Array): Promise<Uint8Array> {
      const signature = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
      return new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength);
    },
  });
}

/** A new P-256 private key, PKCS#8 PEM. */
function newKeyPem(): string {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

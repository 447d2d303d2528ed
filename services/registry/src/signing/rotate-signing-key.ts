import { resolve } from "node:path";
import { parseConfig } from "../config.js";
import { type RotateFileSigningKeyResult, rotateFileSigningKey } from "./file-signer.js";

export interface RotateSigningKeyResult extends RotateFileSigningKeyResult {
  /** The key file, absolute. */
  readonly path: string;
}

/**
 * The `rotate-signing-key` command: replaces the file signer's key (`SIGNING_KEY_FILE`, by
 * default under `AGENTAUTH_DATA_DIR`, resolved as the registry resolves it), keeping the old key
 * beside it. It opens no database — embedded PGlite allows one process, and the registry holds
 * it: the registry's key activation loop loads the new key within 30 seconds (a stopped
 * registry, when it starts), publishes it, retires the old one and audits
 * `signing_key.rotated`. With `SIGNER=kms` there is no file to rotate: it throws, saying what
 * to do instead.
 */
export async function rotateSigningKey(
  env: Readonly<Record<string, string | undefined>>,
): Promise<RotateSigningKeyResult> {
  const config = parseConfig(env);
  if (config.signer.kind !== "file") {
    throw new Error(
      "SIGNER=kms: the key lives in AWS KMS. Create a new ECC_NIST_P256 key, set KMS_KEY_ID to it " +
        "and restart the registries; each retires the old key as it starts with the new one.",
    );
  }
  const path = resolve(config.signer.path);
  return { path, ...(await rotateFileSigningKey(path)) };
}

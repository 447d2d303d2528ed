import { resolve } from "node:path";
import { KMSClient } from "@aws-sdk/client-kms";
import type { SignerConfig } from "../config.js";
import type { Db } from "../db/database.js";
import { createFileSigner } from "./file-signer.js";
import { createKmsSigner } from "./kms-signer.js";
import { createPgSigningKeyStore } from "./pg-signing-key-store.js";
import { createSigningKeyRing, type SigningKeyRing } from "./signing-key-ring.js";

export interface CreateSigningKeyRingFromConfigOptions {
  /** `config.signer` of {@link parseConfig}: a key file, or a KMS key. */
  readonly signer: SignerConfig;
  /** The registry's database: its `signing_keys` table is the ring's store. */
  readonly db: Db;
  readonly now: () => Date;
}

/**
 * The registry's signing key ring as its configuration says (`SIGNER`, `SIGNING_KEY_FILE`,
 * `KMS_KEY_ID`, `AWS_REGION`, `KMS_ENDPOINT`; docs/registry.md): the file signer on the key file
 * (its path resolved against the working directory), reloaded at every activation so a file
 * replaced by `rotate-signing-key` takes effect; or the KMS signer, AWS credentials coming from
 * the AWS SDK's usual chain. Not activated yet: call `activate()` before serving, and again
 * every 30 seconds (`createRegistry` does the latter).
 *
 * @example
 * const keyRing = await createSigningKeyRingFromConfig({ signer: config.signer, db, now: () => clock.now() });
 * await keyRing.activate();
 */
export async function createSigningKeyRingFromConfig(
  options: CreateSigningKeyRingFromConfigOptions,
): Promise<SigningKeyRing> {
  const { signer: config, db, now } = options;
  const store = createPgSigningKeyStore(db);
  switch (config.kind) {
    case "file": {
      const path = resolve(config.path);
      return createSigningKeyRing({
        signer: await createFileSigner(path),
        reloadSigner: () => createFileSigner(path),
        store,
        now,
      });
    }
    case "kms": {
      const client = new KMSClient({
        region: config.region,
        maxAttempts: 2,
        ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
      });
      return createSigningKeyRing({
        signer: await createKmsSigner(client, config.keyId),
        store,
        now,
      });
    }
  }
}
